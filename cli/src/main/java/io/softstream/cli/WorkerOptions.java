package io.softstream.cli;

import io.softstream.worker.AbstractWorker;
import io.softstream.worker.WorkerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options shared by the worker commands; they become {@link WorkerConfig} keys, validated there.
 * Precedence, lowest first: defaults (WorkerConfig's, except where noted), {@code --client-config
 * FILE} (or {@code SOFTSTREAM_CLIENT_CONFIG}), {@code --config FILE}, environment variables, flags.
 * The fields stay null unless given on the command line, so an unset flag never hides the file or
 * the environment.
 */
public final class WorkerOptions {
  /** The CLI's metrics port, where WorkerConfig's own default (0 = any) suits embedded workers. */
  static final int DEFAULT_METRICS_PORT = 9400;

  @Mixin KafkaOptions kafka;
  @Mixin TopicOptions topics;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "Properties file with any worker.* / Kafka client key (environment variables and flags win over it).")
  Path configFile;

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description =
          "Model directory (env SOFTSTREAM_MODEL; default: the shipped Fashion-MNIST tokenizer).")
  String model;

  @Option(
      names = "--model-version",
      description =
          "Version number written into records (env SOFTSTREAM_MODEL_VERSION; default: 1).")
  Integer modelVersion;

  @Option(
      names = "--model-name",
      description =
          "Model name written into records and followed with --watch-models (env SOFTSTREAM_MODEL_NAME; default: the card's name).")
  String modelName;

  @Option(
      names = "--watch-models",
      description =
          "Serve the ACTIVE version of --model-name announced on the "
              + "model-versions topic and hot-swap to new ones (see softstream models).")
  Boolean watch;

  @Option(
      names = "--canary-fraction",
      description =
          "With --watch-models: share of images (by key hash) sent to the newest CANDIDATE version (default: 0).")
  Double canaryFraction;

  @Option(
      names = "--engine",
      description = "auto|onnxruntime|pytorch|tensorrt (env SOFTSTREAM_ENGINE; default: auto).")
  String engine;

  @Option(
      names = "--engine-threads",
      description = "Engine intra-op threads; 0 = all cores but one (default: 0).")
  Integer engineThreads;

  @Option(
      names = "--decode-threads",
      description =
          "Encode worker: threads that decode a batch's images; 0 = one per core (default: 0).")
  Integer decodeThreads;

  @Option(
      names = "--worker-id",
      description =
          "Stable, unique worker id (env SOFTSTREAM_WORKER_ID; default: $HOSTNAME or pid@host).")
  String workerId;

  @Option(names = "--batch-size", description = "Largest micro-batch (default: 32).")
  Integer batchSize;

  @Option(
      names = "--batch-wait-ms",
      description = "Longest wait for a batch to fill (default: 20).")
  Long batchWaitMs;

  @Option(
      names = "--metrics-port",
      description =
          "Port of /metrics, /health/live, /health/ready; 0 = any, -1 = off (env SOFTSTREAM_METRICS_PORT; default: "
              + DEFAULT_METRICS_PORT
              + ", or any free port when it is taken).")
  Integer metricsPort;

  /**
   * The worker settings, layered; {@link #orModel} then fills {@code model.dir} if no layer named
   * one.
   */
  public Map<String, Object> toConfig() throws IOException {
    Map<String, Object> c = KafkaOptions.defaults();
    c.put(WorkerConfig.METRICS_PORT, DEFAULT_METRICS_PORT);
    Map<String, Object> given = new LinkedHashMap<>(kafka.fromFile());
    given.putAll(Settings.file(configFile));
    given.putAll(kafka.fromEnvironment());
    given.putAll(fromEnvironment());
    given.putAll(kafka.fromFlags());
    given.putAll(fromFlags());
    metricsPortGiven = given.containsKey(WorkerConfig.METRICS_PORT);
    c.putAll(given);
    return c;
  }

  /** Whether a layer above the defaults chose the metrics port (then a taken port is an error). */
  private boolean metricsPortGiven;

  /**
   * Builds the worker; if the default metrics port is taken (another worker on this machine),
   * builds it on any free port instead, which its "ready" line prints. A port the user chose stays
   * an error. Binding is the first thing a worker does, before it loads its model, so a retry is
   * cheap.
   */
  <W extends AbstractWorker> W create(
      Map<String, Object> c, Function<WorkerConfig, W> make, PrintWriter out) {
    try {
      return make.apply(new WorkerConfig(c));
    } catch (UncheckedIOException e) {
      if (metricsPortGiven || !(e.getCause() instanceof BindException)) {
        throw e;
      }
      out.printf("metrics port %d is taken: using a free port%n", DEFAULT_METRICS_PORT);
      Map<String, Object> any = new LinkedHashMap<>(c);
      any.put(WorkerConfig.METRICS_PORT, 0);
      return make.apply(new WorkerConfig(any));
    }
  }

  /**
   * Whether no layer named a model directory while the worker needs one (it does not follow
   * model-versions).
   */
  static boolean needsModel(Map<String, Object> c) {
    boolean watching =
        Boolean.parseBoolean(String.valueOf(c.getOrDefault(WorkerConfig.MODEL_WATCH, false)));
    return String.valueOf(c.getOrDefault(WorkerConfig.MODEL_DIR, "")).isBlank() && !watching;
  }

  /**
   * Puts {@code defaultModel} as {@code model.dir} if {@link #needsModel}; returns {@code c}. Only
   * then is it looked up, so a worker given a model runs where the shipped models are not.
   */
  static Map<String, Object> orModel(Map<String, Object> c, Supplier<Path> defaultModel) {
    if (needsModel(c)) {
      c.put(WorkerConfig.MODEL_DIR, defaultModel.get().toString());
    }
    return c;
  }

  private Map<String, Object> fromEnvironment() {
    Map<String, Object> c = new LinkedHashMap<>();
    Settings.putIfSet(c, WorkerConfig.MODEL_DIR, Settings.env("SOFTSTREAM_MODEL"));
    Settings.putIfSet(c, WorkerConfig.MODEL_VERSION, Settings.env("SOFTSTREAM_MODEL_VERSION"));
    Settings.putIfSet(c, WorkerConfig.MODEL_NAME, Settings.env("SOFTSTREAM_MODEL_NAME"));
    Settings.putIfSet(c, WorkerConfig.ENGINE, Settings.env("SOFTSTREAM_ENGINE"));
    Settings.putIfSet(c, WorkerConfig.WORKER_ID, Settings.env("SOFTSTREAM_WORKER_ID"));
    Settings.putIfSet(c, WorkerConfig.METRICS_PORT, Settings.env("SOFTSTREAM_METRICS_PORT"));
    return c;
  }

  private Map<String, Object> fromFlags() {
    Map<String, Object> c = new LinkedHashMap<>();
    Settings.putIfSet(c, WorkerConfig.MODEL_DIR, model);
    Settings.putIfSet(c, WorkerConfig.MODEL_VERSION, modelVersion);
    Settings.putIfSet(c, WorkerConfig.MODEL_NAME, modelName);
    Settings.putIfSet(c, WorkerConfig.MODEL_WATCH, watch);
    Settings.putIfSet(c, WorkerConfig.CANARY_FRACTION, canaryFraction);
    Settings.putIfSet(c, WorkerConfig.ENGINE, engine);
    Settings.putIfSet(c, WorkerConfig.ENGINE_THREADS, engineThreads);
    Settings.putIfSet(c, WorkerConfig.DECODE_THREADS, decodeThreads);
    Settings.putIfSet(c, WorkerConfig.WORKER_ID, workerId);
    Settings.putIfSet(c, WorkerConfig.BATCH_MAX_RECORDS, batchSize);
    Settings.putIfSet(c, WorkerConfig.BATCH_MAX_WAIT_MS, batchWaitMs);
    Settings.putIfSet(c, WorkerConfig.METRICS_PORT, metricsPort);
    Settings.putIfSet(c, WorkerConfig.TOPIC_PREFIX, topics.prefix);
    return c;
  }

  /**
   * Runs a built worker until SIGTERM/SIGINT (graceful: the in-flight batch is committed), then
   * frees it. {@code ready} describes the worker in the line printed once it is ready. Returns the
   * exit code 0.
   */
  static int runUntilTerminated(AbstractWorker worker, PrintWriter out, String role, String ready) {
    out.printf(
        "%s worker ready%s: metrics on :%d, Ctrl-C or SIGTERM to stop%n",
        role, ready, worker.metricsPort());
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
}
