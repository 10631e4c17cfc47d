package io.softstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.bench.DecodeWorkerBenchmark;
import io.softstream.bench.EncodeBenchmark;
import io.softstream.bench.GenerationWorkerBenchmark;
import io.softstream.bench.IngestBenchmark;
import io.softstream.model.runtime.EngineKind;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Benchmarks; they print figures and never fail on them. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmarks: a line of figures per phase and, with --json, one JSON object as the last line "
          + "(stdout); long phases (worker backlogs, paced latency, gate passes, generation batches) "
          + "print a progress line with images/s and ETA every 3 s on stderr.",
      "encode: bare engine at batch 1..64 vs our encode worker on the embedded broker vs an equivalent Python "
          + "worker (librdkafka + torch reference on the same weights), and engine FLOP/s vs a matmul peak.",
      "generate: the 1-D token generator vs the 2-D pixel-patch baseline (batch of 64 at equal steps), then the "
          + "generation worker as its own process: images/s at 1, 4 and 16 one-image requests in flight with "
          + "continuous batching vs static batching, and its peak RSS (--no-worker skips it).",
      "decode: the decode worker as its own process draining a backlog of real tokens (Fashion-MNIST test "
          + "images encoded by the same tokenizer): images/s and its peak RSS.",
      "ingest: the ingest gate's events/s on new pictures and on cache hits, cache-hit p50/p99 latency, "
          + "and the ratio to our encode worker's images/s measured in the same run."
    })
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      description =
          "What to benchmark: encode, decode, ingest, or generate (1-D token generator vs the 2-D "
              + "pixel-patch baseline, batch of 64 at equal steps, then the generation worker).")
  String what;

  @Option(names = "--json", description = "Print the figures as one JSON object on the last line.")
  boolean json;

  @Option(
      names = "--model",
      description = "Tokenizer directory (default: the shipped Fashion-MNIST model).")
  Path model;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description =
          "auto|onnxruntime|pytorch|tensorrt, or none: no inference, only the pipeline ceiling (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(
      names = "--threads",
      defaultValue = "2",
      description = "Engine threads, ours and Python's (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(
      names = "--images",
      defaultValue = "2000",
      description =
          "Images per worker run, and per gate pass for ingest (default: ${DEFAULT-VALUE}).")
  int images;

  @Option(
      names = "--batch",
      defaultValue = "32",
      description = "Worker micro-batch (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--no-python", description = "Skip the Python peer worker.")
  boolean noPython;

  @Option(
      names = "--no-worker",
      description =
          "generate: skip the generation worker (its own process: images/s at 1, 4 and 16 requests in flight, "
              + "continuous vs static batching, peak RSS).")
  boolean noWorker;

  @Option(
      names = "--worker-only",
      description = "generate: only the generation worker, not the 1-D vs 2-D model comparison.")
  boolean workerOnly;

  @Option(
      names = "--work-dir",
      defaultValue = "data/bench",
      description = "Scratch folder (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (what.equals("generate")) {
      Path models = ShippedModels.root().resolve("models");
      Map<String, Object> g =
          workerOnly
              ? new java.util.LinkedHashMap<>()
              : new io.softstream.bench.GenerationBenchmark(
                      io.softstream.bench.GenerationBenchmark.Settings.defaults(models), out)
                  .run();
      if (!noWorker) {
        DemoCommand.deleteRecursively(workDir);
        Files.createDirectories(workDir);
        g.put(
            "worker",
            new GenerationWorkerBenchmark(
                    GenerationWorkerBenchmark.Settings.defaults(
                        ShippedModels.root(), models.resolve("gen-fmnist-16"), workDir),
                    out)
                .run());
      }
      return report(out, g);
    }
    if (!what.equals("encode") && !what.equals("ingest") && !what.equals("decode")) {
      throw new IllegalArgumentException(
          "Unknown benchmark '" + what + "'; accepted: encode, decode, ingest, generate");
    }
    DemoCommand.deleteRecursively(workDir);
    Files.createDirectories(workDir);
    if (what.equals("decode")) {
      Map<String, Object> d =
          new DecodeWorkerBenchmark(
                  new DecodeWorkerBenchmark.Settings(
                      ShippedModels.root(),
                      model != null ? model : ShippedModels.fashionMnist(),
                      images,
                      batch,
                      workDir),
                  out)
              .run();
      return report(out, d);
    }
    if (what.equals("ingest")) {
      Map<String, Object> i =
          new IngestBenchmark(
                  new IngestBenchmark.Settings(
                      model != null ? model : ShippedModels.fashionMnist(),
                      EngineKind.parse(engine),
                      threads,
                      images,
                      batch,
                      workDir),
                  out)
              .run();
      return report(out, i);
    }
    Map<String, Object> r =
        new EncodeBenchmark(
                new EncodeBenchmark.Settings(
                    model != null ? model : ShippedModels.fashionMnist(),
                    EngineKind.parse(engine),
                    threads,
                    images,
                    batch,
                    ShippedModels.root(),
                    workDir,
                    !noPython),
                out)
            .run();
    return report(out, r);
  }

  /** Prints the benchmark's figures as one JSON line with --json (its progress went to stderr). */
  private int report(PrintWriter out, Map<String, Object> figures) throws Exception {
    if (json) {
      out.println(new ObjectMapper().writeValueAsString(figures));
    }
    out.flush();
    return 0;
  }
}
