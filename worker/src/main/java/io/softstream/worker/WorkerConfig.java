package io.softstream.worker;

import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.topology.ClusterSettings;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

/**
 * Settings of an encode or decode worker, declared once (Kafka's {@code ConfigDef}). Kafka and
 * Confluent key names are kept; client overrides pass through with {@code producer.} / {@code
 * consumer.} prefixes, and unprefixed unknown keys (security, SASL, SSL...) go to both clients.
 * {@code java -cp ... io.softstream.worker.WorkerConfig} prints the table for the README.
 */
public class WorkerConfig extends AbstractConfig {
  public static final String BOOTSTRAP_SERVERS = ClusterSettings.BOOTSTRAP_SERVERS;
  public static final String SCHEMA_REGISTRY_URL = ClusterSettings.SCHEMA_REGISTRY_URL;
  public static final String WORKER_ID = "worker.id";
  public static final String GROUP_ID = "group.id";
  public static final String GROUP_PROTOCOL = "group.protocol";
  public static final String TOPIC_PREFIX = ClusterSettings.TOPIC_PREFIX;
  public static final String MODEL_DIR = "model.dir";
  public static final String MODEL_NAME = "model.name";
  public static final String MODEL_VERSION = "model.version";
  public static final String MODEL_WATCH = "model.watch";
  public static final String MODEL_CACHE_DIR = "model.cache.dir";
  public static final String CANARY_FRACTION = "canary.fraction";
  public static final String ENGINE = "engine";
  public static final String ENGINE_THREADS = "engine.threads";
  public static final String DECODE_THREADS = "decode.threads";
  public static final String BATCH_MAX_RECORDS = "batch.max.records";
  public static final String BATCH_MAX_WAIT_MS = "batch.max.wait.ms";
  public static final String TOKEN_DTYPE = "token.dtype";
  public static final String TOKEN_ENCODING = "token.encoding";
  public static final String IMAGE_RESIZE = "image.resize";
  public static final String IMAGE_MAX_BYTES = ImageLimits.MAX_BYTES_SETTING;
  public static final String IMAGE_MAX_PIXELS = ImageLimits.MAX_PIXELS_SETTING;
  public static final String TRANSACTION_TIMEOUT_MS = "transaction.timeout.ms";
  public static final String TRANSACTION_MAX_RECORDS = "transaction.max.records";
  public static final String TRANSACTION_MAX_WAIT_MS = "transaction.max.wait.ms";
  public static final String METRICS_PORT = "metrics.port";
  public static final String FAILURE_MAX_DURATION_MS = "failure.max.duration.ms";

  private static final ConfigDef CONFIG =
      ClusterSettings.define(new ConfigDef())
          .define(
              WORKER_ID,
              Type.STRING,
              defaultWorkerId(),
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Stable id of this worker instance; its transactional.id is softstream-<role>-<worker.id>. Keep it stable "
                  + "across restarts (e.g. the pod name of a StatefulSet) and unique among live workers.")
          .define(
              GROUP_ID,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Consumer group; empty = softstream-<role>. All workers of one role share it.")
          .define(
              GROUP_PROTOCOL,
              Type.STRING,
              "consumer",
              ValidString.in("consumer", "classic"),
              Importance.LOW,
              "consumer = Kafka 4 group protocol (incremental, broker-side assignment); classic = cooperative-sticky.")
          .define(
              MODEL_DIR,
              Type.STRING,
              "",
              Importance.HIGH,
              "Model directory (model.json + weights) served first; may be empty with model.watch=true.")
          .define(
              MODEL_NAME,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Model name written into records; empty = the card's name.")
          .define(
              MODEL_VERSION,
              Type.INT,
              1,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Version of model.dir, written into records.")
          .define(
              MODEL_WATCH,
              Type.BOOLEAN,
              false,
              Importance.HIGH,
              "Follow the ACTIVE version of model.name on the model-versions topic: start on it if one is announced, "
                  + "and hot-swap to each newly announced one (fetched from Kafka, checksummed, warmed up) between batches.")
          .define(
              CANARY_FRACTION,
              Type.DOUBLE,
              0.0,
              Range.between(0.0, 1.0),
              Importance.MEDIUM,
              "With model.watch: share of images (by key hash, so one image always sees one version) encoded by the newest "
                  + "CANDIDATE version above the active one; per-version metrics show both side by side.")
          .define(
              MODEL_CACHE_DIR,
              Type.STRING,
              System.getProperty("java.io.tmpdir") + "/softstream-models",
              Importance.LOW,
              "Where fetched model artifacts are unpacked.")
          .define(
              ENGINE,
              Type.STRING,
              "auto",
              ValidString.in("auto", "onnxruntime", "pytorch", "tensorrt", "none"),
              Importance.HIGH,
              "Inference engine; auto = TensorRT on a CUDA GPU with the GPU build (-Pgpu), else ONNX Runtime on CPU if the model has ONNX files, else PyTorch; "
                  + "none = no inference, zero tokens (benchmarks only: the pipeline's ceiling).")
          .define(
              ENGINE_THREADS,
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.LOW,
              "Intra-op threads of the engine; 0 = all cores but one (the loop, image decoding and the Kafka clients use the other).")
          .define(
              DECODE_THREADS,
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.LOW,
              "Threads that decode and fit a batch's images (encode worker), the prepare thread included; 0 = one per core. 1 = the prepare thread alone.")
          .define(
              BATCH_MAX_RECORDS,
              Type.INT,
              32,
              Range.between(1, 4096),
              Importance.HIGH,
              "Largest micro-batch (one engine call).")
          .define(
              BATCH_MAX_WAIT_MS,
              Type.LONG,
              20L,
              Range.atLeast(0),
              Importance.HIGH,
              "Longest a record waits for its batch to fill; under load batches fill before this.")
          .define(
              TOKEN_DTYPE,
              Type.STRING,
              "fp16",
              ValidString.in("fp16", "fp32"),
              Importance.MEDIUM,
              "Token payload precision (fp16 halves the bytes).")
          .define(
              TOKEN_ENCODING,
              Type.STRING,
              "",
              (name, v) -> {
                if (v != null && !v.toString().isEmpty()) {
                  try {
                    TokenCodec.Encoding.parse(v.toString());
                  } catch (IllegalArgumentException e) {
                    throw new ConfigException(name, v, e.getMessage());
                  }
                }
              },
              Importance.MEDIUM,
              "Token payload encoding: fp32, fp16, int8 (per-token scale), int8u (fixed scale 1/127, for"
                  + " soft/hard VQ latents in [-1, 1]), topk:K (K codewords per token"
                  + " as index + 8-bit weight) or codes (argmax indices, bit-packed); empty ="
                  + " token.dtype (default fp16). README: Payload encodings.")
          .define(
              IMAGE_RESIZE,
              Type.STRING,
              "",
              ValidString.in("", "fit", "crop", "pad"),
              Importance.MEDIUM,
              "empty = as the model card says (image_resize), else fit; fit = centre small images unscaled on black, "
                  + "centre-crop and scale larger ones; crop = centre-crop and scale; pad = pad to square and scale.")
          .define(
              IMAGE_MAX_BYTES,
              Type.INT,
              ImageLimits.DEFAULT_MAX_BYTES,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Larger image payloads are dead-lettered (OversizedPayload).")
          .define(
              IMAGE_MAX_PIXELS,
              Type.LONG,
              ImageLimits.DEFAULT_MAX_PIXELS,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Images with more pixels are dead-lettered before decoding (OversizedImage).")
          .define(
              TRANSACTION_TIMEOUT_MS,
              Type.INT,
              15_000,
              Range.atLeast(1000),
              Importance.LOW,
              "Transaction timeout: a crashed worker's open transaction is aborted after this.")
          .define(
              TRANSACTION_MAX_RECORDS,
              Type.INT,
              256,
              Range.between(1, 65536),
              Importance.MEDIUM,
              "Under a backlog one transaction holds consecutive micro-batches up to this many records (at least "
                  + "one batch): fewer commit round trips per image. 1 = one transaction per batch.")
          .define(
              TRANSACTION_MAX_WAIT_MS,
              Type.LONG,
              100L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "A transaction takes no further micro-batch once this has passed since it started collecting them: "
                  + "bounds what grouping batches adds to a record's latency. 0 = one batch per transaction.")
          .define(
              FAILURE_MAX_DURATION_MS,
              Type.LONG,
              180_000L,
              Range.atLeast(0),
              Importance.MEDIUM,
              "How long the worker may fail for reasons no record causes (engine fault, registry "
                  + "answering 401/403/429, a serializer that cannot write) before it stops with an "
                  + "error and a non-zero exit, leaving its records uncommitted for a healthy worker. "
                  + "Such failures never dead-letter records; an unavailable broker or registry is "
                  + "waited for without limit.")
          .define(
              METRICS_PORT,
              Type.INT,
              0,
              Range.atLeast(-1),
              Importance.MEDIUM,
              "Port of /metrics and /health/*; 0 = any free port, -1 = off.");

  public WorkerConfig(Map<?, ?> props) {
    super(CONFIG, props);
    if (getString(MODEL_DIR).isEmpty() && !getBoolean(MODEL_WATCH)) {
      throw new ConfigException(
          MODEL_DIR,
          "",
          "Give a model directory, or set model.watch=true (with model.name) to "
              + "serve the active version announced on the model-versions topic");
    }
    if (getBoolean(MODEL_WATCH) && getString(MODEL_NAME).isEmpty()) {
      throw new ConfigException(MODEL_NAME, "", "model.watch=true needs the model.name to follow");
    }
  }

  public static ConfigDef configDef() {
    return new ConfigDef(CONFIG);
  }

  /** token.encoding, or token.dtype when it is empty. */
  public TokenCodec.Encoding tokenEncoding() {
    String e = getString(TOKEN_ENCODING);
    return TokenCodec.Encoding.parse(e.isEmpty() ? getString(TOKEN_DTYPE) : e);
  }

  public EngineKind engine() {
    return EngineKind.parse(getString(ENGINE));
  }

  /**
   * The resize policy for a model with this card: {@code image.resize} when set, else the card's
   * {@code image_resize} (so a photo model scales photos without being told), else fit.
   *
   * @param card the served model's card (null = none)
   */
  public ImageTranslator.Resize resize(ModelCard card) {
    String set = getString(IMAGE_RESIZE);
    if (!set.isEmpty()) {
      return ImageTranslator.Resize.parse(set);
    }
    ImageTranslator.Resize fromCard = card == null ? null : card.resize();
    return fromCard != null ? fromCard : ImageTranslator.Resize.FIT;
  }

  /**
   * The translator the encode worker feeds {@code model} (described by {@code card}, may be null)
   * through: resize policy ({@link #resize(ModelCard)}) and size limits from this config.
   */
  public ImageTranslator imageTranslator(TokenizerConfig model, ModelCard card) {
    return new ImageTranslator(
        model.imageSize(),
        model.channels(),
        resize(card),
        new ImageLimits(getInt(IMAGE_MAX_BYTES), getLong(IMAGE_MAX_PIXELS), "this worker"));
  }

  public String groupId(String role) {
    String g = getString(GROUP_ID);
    return g.isEmpty() ? "softstream-" + role : g;
  }

  /** Consumer settings: read_committed, manual commits through transactions, plus overrides. */
  public Map<String, Object> consumerConfig(String role) {
    Map<String, Object> c = new HashMap<>(clientOverrides());
    c.put("bootstrap.servers", getString(BOOTSTRAP_SERVERS));
    c.put("group.id", groupId(role));
    c.put("group.protocol", getString(GROUP_PROTOCOL));
    if (getString(GROUP_PROTOCOL).equals("classic")) {
      c.put(
          "partition.assignment.strategy",
          "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    }
    c.put("client.id", "softstream-" + role + "-" + getString(WORKER_ID));
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    c.put("auto.offset.reset", "earliest");
    // Several batches per poll under backlog, so that a flush can pipeline inference with commits.
    c.put("max.poll.records", Math.max(getInt(BATCH_MAX_RECORDS) * 8, 64));
    c.put("max.partition.fetch.bytes", 16 * 1024 * 1024);
    c.putAll(originalsWithPrefix("consumer."));
    return c;
  }

  /** Producer settings: idempotent, transactional with a stable id, plus overrides. */
  public Map<String, Object> producerConfig(String role) {
    Map<String, Object> p = new HashMap<>(clientOverrides());
    p.put("bootstrap.servers", getString(BOOTSTRAP_SERVERS));
    p.put("client.id", "softstream-" + role + "-" + getString(WORKER_ID) + "-producer");
    p.put("transactional.id", "softstream-" + role + "-" + getString(WORKER_ID));
    p.put("enable.idempotence", true);
    p.put("acks", "all");
    p.put("transaction.timeout.ms", getInt(TRANSACTION_TIMEOUT_MS));
    p.put("linger.ms", 5);
    p.put("max.request.size", 12 * 1024 * 1024);
    p.putAll(originalsWithPrefix("producer."));
    if (p.get("transactional.id") == null || p.get("transactional.id").toString().isEmpty()) {
      throw new ConfigException(
          "transactional.id", p.get("transactional.id"), "must be set for exactly-once output");
    }
    return p;
  }

  /**
   * Plain client settings (bootstrap, pass-through security keys, registry) for side clients such
   * as the model watcher.
   */
  public Map<String, Object> clientConfig() {
    Map<String, Object> c = new HashMap<>(clientOverrides());
    c.put("bootstrap.servers", getString(BOOTSTRAP_SERVERS));
    c.putAll(serdeConfig());
    return c;
  }

  /**
   * The engine's intra-op threads: {@code engine.threads}, or when 0 all cores but one, because the
   * worker's own threads (poll/commit, image decoding, Kafka clients) need a core: on 2 cores one
   * engine thread encodes more images per second through the worker than two (426 vs ~390, README
   * performance section).
   */
  public int engineThreads() {
    int t = getInt(ENGINE_THREADS);
    return t > 0 ? t : Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
  }

  /**
   * Threads that decode and fit the images of a batch (encode worker): {@code decode.threads}, or
   * when 0 one per core, since at the pipeline ceiling (a fast engine) decoding is the work one
   * thread cannot keep up with.
   */
  public int decodeThreads() {
    int t = getInt(DECODE_THREADS);
    return t > 0 ? t : Runtime.getRuntime().availableProcessors();
  }

  /** Serde settings for the schema registry (URL plus any schema.registry.* / auth keys). */
  public Map<String, Object> serdeConfig() {
    Map<String, Object> s = new HashMap<>();
    originals()
        .forEach(
            (k, v) -> {
              if (k.startsWith("schema.registry.")
                  || k.startsWith("basic.auth.")
                  || k.startsWith("bearer.auth.")) {
                s.put(k, v);
              }
            });
    s.put(SCHEMA_REGISTRY_URL, getString(SCHEMA_REGISTRY_URL));
    return s;
  }

  /**
   * Unprefixed keys that are none of the workers' own: Kafka client settings (security, SASL,
   * SSL...) for every client. The generation worker's keys share this config, so they and their
   * namespaces are held back, else each client would log them as unknown settings.
   */
  private Map<String, Object> clientOverrides() {
    Set<String> ours = CONFIG.names();
    Map<String, Object> m = new HashMap<>();
    originals()
        .forEach(
            (k, v) -> {
              if (!ours.contains(k)
                  && !k.startsWith("producer.")
                  && !k.startsWith("consumer.")
                  && !k.startsWith("schema.registry.")
                  && !k.startsWith("basic.auth.")
                  && !k.startsWith("bearer.auth.")
                  && !k.startsWith("generator.")
                  && !k.startsWith("generation.")) {
                m.put(k, v);
              }
            });
    return m;
  }

  private static String defaultWorkerId() {
    String host = System.getenv().getOrDefault("HOSTNAME", "");
    return (host.isEmpty()
            ? ManagementFactory.getRuntimeMXBean().getName().replace('@', '-')
            : host)
        .toLowerCase(Locale.ROOT);
  }

  /** Prints the settings table (Markdown) for the README. */
  public static void main(String[] args) {
    System.out.println("| key | type | default | description |\n|---|---|---|---|");
    for (ConfigDef.ConfigKey k : CONFIG.configKeys().values()) {
      Object def = k.hasDefault() ? k.defaultValue : "(required)";
      System.out.println(
          "| `"
              + k.name
              + "` | "
              + k.type.name().toLowerCase(Locale.ROOT)
              + " | "
              + (k.name.equals(WORKER_ID) ? "$HOSTNAME or pid@host" : def)
              + " | "
              + k.documentation
              + " |");
    }
  }
}
