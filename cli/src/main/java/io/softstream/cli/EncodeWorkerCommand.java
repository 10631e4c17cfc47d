package io.softstream.cli;

import io.softstream.worker.EncodeWorker;
import io.softstream.worker.WorkerConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs one encode worker until SIGTERM. */
@Command(name = "encode-worker", mixinStandardHelpOptions = true,
    description = {"Consume ImageEvents, encode them in micro-batches and publish TokenRecords exactly once.",
        "Bad records go to the dead-letter topic with the reason. SIGTERM commits the in-flight batch and exits 0."})
public final class EncodeWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;

  @Option(names = "--token-dtype", defaultValue = "fp16", description = "fp16|fp32 token payload (default: ${DEFAULT-VALUE}).")
  String dtype;

  @Option(names = "--image-resize", defaultValue = "fit", description = "fit|crop|pad (default: ${DEFAULT-VALUE}).")
  String resize;

  @Override
  public Integer call() throws Exception {
    var c = options.toConfig();
    c.put(WorkerConfig.TOKEN_DTYPE, dtype);
    c.put(WorkerConfig.IMAGE_RESIZE, resize);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(c));
    return WorkerOptions.runUntilTerminated(worker, spec.commandLine().getOut(), "encode");
  }
}
