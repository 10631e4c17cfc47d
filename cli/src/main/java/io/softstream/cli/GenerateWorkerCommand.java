package io.softstream.cli;

import io.softstream.worker.GenerateWorker;
import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs one generation worker until SIGTERM. */
@Command(name = "generate-worker", mixinStandardHelpOptions = true,
    description = {"Consume GenerationRequests (a label or a prompt), sample the images of each batch of requests "
        + "together, decode them with the tokenizer (--model; default: the one the generator was trained on) and publish one GeneratedImage per image exactly once.",
        "Invalid requests go to the dead-letter topic with the reason. SIGTERM commits the in-flight batch and exits 0."})
public final class GenerateWorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin WorkerOptions options;
  @Mixin GeneratorOptions generatorOptions;

  @Option(names = "--generator-version", defaultValue = "1", description = "Generator version written into records (default: ${DEFAULT-VALUE}).")
  int generatorVersion;

  @Option(names = "--max-count", defaultValue = "64", description = "Largest count a request may ask for (default: ${DEFAULT-VALUE}).")
  int maxCount;

  @Override
  public Integer call() throws Exception {
    var c = options.toConfig();
    generatorOptions.putInto(c);
    if (options.model == null || options.model.isBlank()) {
      c.put(WorkerConfig.MODEL_DIR, generatorOptions.defaultTokenizer().toString());
    }
    c.put(GenerationSettings.GENERATOR_VERSION, generatorVersion);
    c.put(GenerationSettings.MAX_COUNT, maxCount);
    // A batch of large requests can take minutes on a CPU; the default 5-minute poll interval would
    // then evict the worker mid-batch and the batch would be redone elsewhere.
    c.putIfAbsent("consumer.max.poll.interval.ms", 900_000);
    GenerateWorker worker = new GenerateWorker(new WorkerConfig(c));
    PrintWriter out = spec.commandLine().getOut();
    out.printf("generate worker ready (%s, decoder %s): metrics on :%d, Ctrl-C or SIGTERM to stop%n",
        worker.generatorModel(), worker.decoderModel(), worker.metricsPort());
    out.flush();
    Signals.onTerminate(worker::close);
    try {
      worker.run();
    } finally {
      worker.release();
    }
    out.println("generate worker stopped cleanly");
    out.flush();
    return 0;
  }
}
