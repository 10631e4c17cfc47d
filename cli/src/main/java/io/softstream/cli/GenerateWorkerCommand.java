package io.softstream.cli;

import ai.djl.MalformedModelException;
import io.softstream.worker.GenerateWorker;
import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs one generation worker until SIGTERM. */
@Command(
    name = "generate-worker",
    mixinStandardHelpOptions = true,
    description = {
      "Consume GenerationRequests (a label or a prompt), sample their images with continuous batching (requests "
          + "that arrive while others are mid-sampling join at the next step), decode them with the tokenizer (--model; default: the one the generator was trained on) and publish one GeneratedImage per image exactly once.",
      "Invalid requests go to the dead-letter topic with the reason. SIGTERM commits the in-flight batch and exits 0."
    })
public final class GenerateWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;
  @Mixin GeneratorOptions generatorOptions;

  @Option(
      names = "--generator-version",
      description = "Generator version written into records (default: 1).")
  Integer generatorVersion;

  @Option(names = "--max-count", description = "Largest count a request may ask for (default: 64).")
  Integer maxCount;

  /** The worker's settings: defaults < --config file < environment < flags. */
  Map<String, Object> config() throws IOException, MalformedModelException {
    Map<String, Object> c = options.toConfig();
    generatorOptions.putInto(c);
    Settings.putIfSet(c, GenerationSettings.GENERATOR_VERSION, generatorVersion);
    Settings.putIfSet(c, GenerationSettings.MAX_COUNT, maxCount);
    // A batch of large requests can take minutes on a CPU; the default 5-minute poll interval would
    // then evict the worker mid-batch and the batch would be redone elsewhere.
    c.putIfAbsent("consumer.max.poll.interval.ms", 900_000);
    if (WorkerOptions.needsModel(c)) {
      c.put(
          WorkerConfig.MODEL_DIR,
          GeneratorOptions.defaultTokenizer(
                  Path.of(c.get(GenerationSettings.GENERATOR_DIR).toString()))
              .toString());
    }
    return c;
  }

  @Override
  public Integer call() throws Exception {
    Map<String, Object> c = config();
    // A bad setting is reported first; then ready means connected: a wrong address fails here, in
    // seconds, naming it.
    new WorkerConfig(c);
    ClusterCheck.require(c);
    GenerateWorker worker = options.create(c, GenerateWorker::new, spec.commandLine().getOut());
    return WorkerOptions.runUntilTerminated(
        worker,
        spec.commandLine().getOut(),
        "generate",
        " (" + worker.generatorModel() + ", decoder " + worker.decoderModel() + ")");
  }
}
