package io.softstream.cli;

import io.softstream.worker.EncodeWorker;
import io.softstream.worker.WorkerConfig;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs one encode worker until SIGTERM. */
@Command(
    name = "encode-worker",
    mixinStandardHelpOptions = true,
    description = {
      "Consume ImageEvents, encode them in micro-batches and publish TokenRecords exactly once.",
      "Bad records go to the dead-letter topic with the reason. SIGTERM commits the in-flight batch and exits 0."
    })
public final class EncodeWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;

  @Option(names = "--token-dtype", description = "fp16|fp32 token payload (default: fp16).")
  String dtype;

  @Option(
      names = "--token-encoding",
      description =
          "fp32|fp16|int8|int8u|topk:K|codes token payload (default: --token-dtype's, fp16); README: Payload encodings.")
  String encoding;

  @Option(
      names = "--image-resize",
      description = "fit|crop|pad (default: as the model card says, image_resize; else fit).")
  String resize;

  /** The worker's settings: defaults < --config file < environment < flags. */
  Map<String, Object> config() throws IOException {
    Map<String, Object> c = options.toConfig();
    Settings.putIfSet(c, WorkerConfig.TOKEN_DTYPE, dtype);
    Settings.putIfSet(c, WorkerConfig.TOKEN_ENCODING, encoding);
    Settings.putIfSet(c, WorkerConfig.IMAGE_RESIZE, resize);
    return WorkerOptions.orModel(c, ShippedModels::fashionMnist);
  }

  @Override
  public Integer call() throws Exception {
    Map<String, Object> c = config();
    // A bad setting is reported first; then ready means connected: a wrong address fails here, in
    // seconds, naming it.
    new WorkerConfig(c);
    ClusterCheck.require(c);
    EncodeWorker worker = options.create(c, EncodeWorker::new, spec.commandLine().getOut());
    return WorkerOptions.runUntilTerminated(worker, spec.commandLine().getOut(), "encode", "");
  }
}
