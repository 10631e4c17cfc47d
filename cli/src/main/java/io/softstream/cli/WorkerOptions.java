package io.softstream.cli;

import io.softstream.worker.WorkerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options shared by the worker commands; they become {@link WorkerConfig} keys, validated there. */
public final class WorkerOptions {
  @Mixin KafkaOptions kafka;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Properties file with any worker.* / Kafka client key (flags win over the file).")
  Path configFile;

  @Option(names = "--model", paramLabel = "DIR", defaultValue = "${env:SOFTSTREAM_MODEL:-}",
      description = "Model directory (env SOFTSTREAM_MODEL; default: the shipped Fashion-MNIST tokenizer).")
  String model;

  @Option(names = "--model-version", defaultValue = "${env:SOFTSTREAM_MODEL_VERSION:-1}",
      description = "Version number written into records (default: ${DEFAULT-VALUE}).")
  int modelVersion;

  @Option(names = "--model-name", defaultValue = "${env:SOFTSTREAM_MODEL_NAME:-}",
      description = "Model name written into records and followed with --watch-models (default: the card's name).")
  String modelName;

  @Option(names = "--watch-models", description = "Serve the ACTIVE version of --model-name announced on the "
      + "model-versions topic and hot-swap to new ones (see softstream models).")
  boolean watch;

  @Option(names = "--canary-fraction", defaultValue = "0",
      description = "With --watch-models: share of images (by key hash) sent to the newest CANDIDATE version.")
  double canaryFraction;

  @Option(names = "--engine", defaultValue = "${env:SOFTSTREAM_ENGINE:-auto}",
      description = "auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--engine-threads", defaultValue = "0", description = "Engine intra-op threads; 0 = all cores but one (default: ${DEFAULT-VALUE}).")
  int engineThreads;

  @Option(names = "--worker-id", defaultValue = "${env:SOFTSTREAM_WORKER_ID:-}",
      description = "Stable, unique worker id (env SOFTSTREAM_WORKER_ID; default: $HOSTNAME or pid@host).")
  String workerId;

  @Option(names = "--batch-size", defaultValue = "32", description = "Largest micro-batch (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--batch-wait-ms", defaultValue = "20", description = "Longest wait for a batch to fill (default: ${DEFAULT-VALUE}).")
  long batchWaitMs;

  @Option(names = "--metrics-port", defaultValue = "${env:SOFTSTREAM_METRICS_PORT:-9400}",
      description = "Port of /metrics, /health/live, /health/ready; 0 = any, -1 = off (default: ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every topic name.")
  String topicPrefix;

  /**
   * Runs a built worker until SIGTERM/SIGINT (graceful: the in-flight batch is committed), then frees
   * it. Returns the exit code 0.
   */
  static int runUntilTerminated(io.softstream.worker.AbstractWorker worker, java.io.PrintWriter out, String role) {
    out.printf("%s worker ready: metrics on :%d, Ctrl-C or SIGTERM to stop%n", role, worker.metricsPort());
    out.flush();
    Signals.onTerminate(worker::close);
    try {
      worker.run();
    } finally {
      worker.release();
    }
    out.println(role + " worker stopped cleanly");
    out.flush();
    return 0;
  }

  /** The worker settings: file, then flags, then pass-through Kafka properties. */
  public Map<String, Object> toConfig() throws IOException {
    Map<String, Object> c = new LinkedHashMap<>();
    if (configFile != null) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(configFile)) {
        p.load(in);
      }
      p.forEach((k, v) -> c.put(k.toString(), v));
    }
    c.putAll(kafka.clientProperties());
    boolean noDir = model == null || model.isBlank();
    c.put(WorkerConfig.MODEL_DIR, noDir ? (watch ? "" : ShippedModels.fashionMnist().toString()) : model);
    c.put(WorkerConfig.MODEL_NAME, modelName == null ? "" : modelName);
    c.put(WorkerConfig.MODEL_WATCH, watch);
    c.put(WorkerConfig.CANARY_FRACTION, canaryFraction);
    c.put(WorkerConfig.MODEL_VERSION, modelVersion);
    c.put(WorkerConfig.ENGINE, engine);
    c.put(WorkerConfig.ENGINE_THREADS, engineThreads);
    if (workerId != null && !workerId.isBlank()) {
      c.put(WorkerConfig.WORKER_ID, workerId);
    }
    c.put(WorkerConfig.BATCH_MAX_RECORDS, batchSize);
    c.put(WorkerConfig.BATCH_MAX_WAIT_MS, batchWaitMs);
    c.put(WorkerConfig.METRICS_PORT, metricsPort);
    c.put(WorkerConfig.TOPIC_PREFIX, topicPrefix);
    return c;
  }
}
