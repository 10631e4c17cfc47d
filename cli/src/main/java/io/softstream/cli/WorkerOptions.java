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

  @Option(names = "--engine", defaultValue = "${env:SOFTSTREAM_ENGINE:-auto}",
      description = "auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--engine-threads", defaultValue = "0", description = "Engine intra-op threads; 0 = engine default.")
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
    c.put(WorkerConfig.MODEL_DIR, model == null || model.isBlank() ? ShippedModels.fashionMnist().toString() : model);
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
