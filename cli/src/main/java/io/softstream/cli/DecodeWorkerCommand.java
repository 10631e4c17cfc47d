package io.softstream.cli;

import io.softstream.worker.DecodeWorker;
import io.softstream.worker.WorkerConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Runs one decode worker until SIGTERM. */
@Command(name = "decode-worker", mixinStandardHelpOptions = true,
    description = {"Consume TokenRecords, decode each with the decoder of exactly its model version (--model, and with "
        + "--watch-models any announced version, fetched on first use) and publish PNG ImageEvents on the "
        + "reconstructions topic exactly once. Tokens of unknown versions are dead-lettered with the reason."})
public final class DecodeWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;

  @Override
  public Integer call() throws Exception {
    DecodeWorker worker = new DecodeWorker(new WorkerConfig(options.toConfig()));
    return WorkerOptions.runUntilTerminated(worker, spec.commandLine().getOut(), "decode");
  }
}
