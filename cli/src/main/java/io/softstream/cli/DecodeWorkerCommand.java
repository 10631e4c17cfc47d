package io.softstream.cli;

import io.softstream.worker.DecodeWorker;
import io.softstream.worker.WorkerConfig;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Runs one decode worker until SIGTERM. */
@Command(
    name = "decode-worker",
    mixinStandardHelpOptions = true,
    description = {
      "Consume TokenRecords, decode each with the decoder of exactly its model version (--model, and with "
          + "--watch-models any announced version, fetched on first use) and publish PNG ImageEvents on the "
          + "reconstructions topic exactly once. Tokens of unknown versions are dead-lettered with the reason."
    })
public final class DecodeWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;

  /** The worker's settings: defaults < --config file < environment < flags. */
  Map<String, Object> config() throws IOException {
    return WorkerOptions.orModel(options.toConfig(), ShippedModels::fashionMnist);
  }

  @Override
  public Integer call() throws Exception {
    Map<String, Object> c = config();
    // A bad setting is reported first; then ready means connected: a wrong address fails here, in
    // seconds, naming it.
    new WorkerConfig(c);
    ClusterCheck.require(c);
    DecodeWorker worker = options.create(c, DecodeWorker::new, spec.commandLine().getOut());
    return WorkerOptions.runUntilTerminated(worker, spec.commandLine().getOut(), "decode", "");
  }
}
