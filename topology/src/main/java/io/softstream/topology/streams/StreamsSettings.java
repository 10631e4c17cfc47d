package io.softstream.topology.streams;

import io.softstream.schemas.images.ImageLimits;
import io.softstream.topology.ClusterSettings;
import io.softstream.topology.TopicLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;

/**
 * Settings of the Kafka Streams apps, declared once (Kafka's {@code ConfigDef}, like the workers'
 * {@code WorkerConfig}). Kafka and Confluent key names are kept; any other key (security, {@code
 * producer.*}, {@code consumer.*}, Streams keys such as {@code commit.interval.ms}) passes through
 * to {@link StreamsConfig} unchanged. {@code java -cp ...
 * io.softstream.topology.streams.StreamsSettings} prints the table for the README.
 */
public final class StreamsSettings extends AbstractConfig {
  public static final String BOOTSTRAP_SERVERS = ClusterSettings.BOOTSTRAP_SERVERS;
  public static final String SCHEMA_REGISTRY_URL = ClusterSettings.SCHEMA_REGISTRY_URL;
  public static final String TOPIC_PREFIX = ClusterSettings.TOPIC_PREFIX;
  public static final String NUM_STANDBY_REPLICAS = StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG;
  public static final String STATE_DIR = StreamsConfig.STATE_DIR_CONFIG;
  public static final String METRICS_PORT = "metrics.port";
  public static final String CACHE_ENABLED = "cache.enabled";
  public static final String CACHE_RETENTION_MS = "cache.retention.ms";
  public static final String CACHE_MODEL_NAME = "cache.model.name";
  public static final String CACHE_PARTITIONS = "cache.partitions";
  public static final String GENERATION_UNIT_SIZE = "generation.unit.size";
  public static final String GENERATION_MAX_COUNT = "generation.max.count";
  public static final String GENERATION_TIMEOUT_MS = "generation.timeout.ms";
  public static final String STATS_GRACE_MS = "stats.grace.ms";
  public static final String STATS_RETENTION_MS = "stats.retention.ms";
  public static final String IMAGE_MAX_BYTES = ImageLimits.MAX_BYTES_SETTING;
  public static final String IMAGE_MAX_PIXELS = ImageLimits.MAX_PIXELS_SETTING;

  /**
   * Keys the runner hands to the dead-letter exception handlers through the Streams config (Kafka
   * passes every original key to a handler's {@code configure}).
   */
  public static final String DEAD_LETTER_TOPIC = "softstream.dead.letters.topic";

  public static final String APP_NAME = "softstream.app";

  private static final ConfigDef CONFIG =
      ClusterSettings.define(new ConfigDef())
          .define(
              NUM_STANDBY_REPLICAS,
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Standby replicas of each stateful task: a warm copy of its stores on another instance, so a "
                  + "fail-over does not replay the whole changelog.")
          .define(
              STATE_DIR,
              Type.STRING,
              Path.of(System.getProperty("java.io.tmpdir"), "softstream-streams").toString(),
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Local state stores (RocksDB); rebuilt from their changelogs when lost.")
          .define(
              METRICS_PORT,
              Type.INT,
              0,
              Range.atLeast(-1),
              Importance.MEDIUM,
              "Port of /metrics and /health/*; 0 = any free port, -1 = off.")
          .define(
              CACHE_ENABLED,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Answer images whose bytes the active encoder already tokenized from the token cache.")
          .define(
              CACHE_RETENTION_MS,
              Type.LONG,
              7L * 24 * 3600 * 1000,
              Range.atLeast(1000),
              Importance.MEDIUM,
              "How long a tokenized image stays in the token cache after it was last written.")
          .define(
              CACHE_MODEL_NAME,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Encoder whose ACTIVE version the cache serves; empty = the most recently activated encoder.")
          .define(
              CACHE_PARTITIONS,
              Type.INT,
              6,
              Range.between(1, 10_000),
              Importance.LOW,
              "Partitions of the two repartition topics that key images and tokens by content hash.")
          .define(
              GENERATION_UNIT_SIZE,
              Type.INT,
              4,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Most images per unit generation job: a larger request is split so several generation"
                  + " workers share it.")
          .define(
              GENERATION_MAX_COUNT,
              Type.INT,
              4096,
              Range.atLeast(1),
              Importance.LOW,
              "Largest request that is split; larger ones go on unsplit for the worker to reject.")
          .define(
              GENERATION_TIMEOUT_MS,
              Type.LONG,
              600_000L,
              Range.atLeast(1000),
              Importance.MEDIUM,
              "Wall-clock time from a generation request to its PARTIAL completion (naming the"
                  + " missing images) if not all images exist by then.")
          .define(
              STATS_GRACE_MS,
              Type.LONG,
              10_000L,
              Range.atLeast(0),
              Importance.LOW,
              "How late (event time) a record may arrive and still count in its statistics window.")
          .define(
              STATS_RETENTION_MS,
              Type.LONG,
              3_600_000L,
              Range.atLeast(310_000),
              Importance.LOW,
              "How long statistics windows stay queryable (at least 5 minutes plus grace).")
          .define(
              IMAGE_MAX_BYTES,
              Type.INT,
              ImageLimits.DEFAULT_MAX_BYTES,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Larger image payloads are dead-lettered (OversizedPayload); the encode workers' default.")
          .define(
              IMAGE_MAX_PIXELS,
              Type.LONG,
              ImageLimits.DEFAULT_MAX_PIXELS,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Images whose header declares more pixels are dead-lettered (OversizedImage); the encode workers' default.");

  public StreamsSettings(Map<?, ?> props) {
    super(CONFIG, props);
  }

  public static ConfigDef configDef() {
    return new ConfigDef(CONFIG);
  }

  public TopicLayout topics() {
    return TopicLayout.of(getString(TOPIC_PREFIX));
  }

  /** {@code softstream-<app>}, after the topic prefix so that one prefix namespaces everything. */
  public String applicationId(String app) {
    return getString(TOPIC_PREFIX) + "softstream-" + app;
  }

  public ImageLimits imageLimits() {
    return new ImageLimits(getInt(IMAGE_MAX_BYTES), getLong(IMAGE_MAX_PIXELS), "the ingest gate");
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
   * A builder with the naming check on, so an unnamed store or repartition topic fails while the
   * topology is built (for topologies built without the app's settings; nothing connects).
   */
  public static StreamsBuilder namingCheckedBuilder(String app) {
    return new StreamsBuilder(
        new TopologyConfig(
            new StreamsConfig(
                Map.of(
                    StreamsConfig.APPLICATION_ID_CONFIG,
                    "softstream-" + app,
                    StreamsConfig.BOOTSTRAP_SERVERS_CONFIG,
                    "unused:9092",
                    StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG,
                    true))));
  }

  /**
   * The {@link StreamsConfig} of one app: exactly_once_v2, explicit names enforced, dead-letter
   * exception handlers, the app's own {@link StreamsApp#streamsDefaults()}, then every pass-through
   * key (which may override these).
   */
  public Properties streamsProperties(String app) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(app));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, getString(BOOTSTRAP_SERVERS));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, getInt(NUM_STANDBY_REPLICAS));
    p.put(StreamsConfig.STATE_DIR_CONFIG, getString(STATE_DIR));
    p.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterHandlers.Deserialization.class.getName());
    p.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterHandlers.Processing.class.getName());
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    // Images travel through the gate's content-hash repartition topic: allow the topic's 10 MB.
    p.put(StreamsConfig.topicPrefix("max.message.bytes"), 12 * 1024 * 1024);
    p.put(StreamsConfig.producerPrefix("max.request.size"), 12 * 1024 * 1024);
    p.put(StreamsConfig.consumerPrefix("max.partition.fetch.bytes"), 16 * 1024 * 1024);
    // A transaction's first write often meets the previous one's commit markers still being
    // written (CONCURRENT_TRANSACTIONS): retried after the default 100 ms, that held every image
    // passing the gate for a tenth of a second, several times a second.
    p.put(StreamsConfig.producerPrefix("retry.backoff.ms"), 10);
    StreamsApps.known().stream()
        .filter(a -> a.name().equals(app))
        .findFirst()
        .ifPresent(a -> p.putAll(a.streamsDefaults()));
    p.put(DEAD_LETTER_TOPIC, topics().deadLetters());
    p.put(APP_NAME, applicationId(app));
    p.putAll(serdeConfig());
    originals()
        .forEach(
            (k, v) -> {
              if (!CONFIG.names().contains(k)) {
                p.put(k, v);
              }
            });
    return p;
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
              + (k.name.equals(STATE_DIR) ? "$TMPDIR/softstream-streams" : def)
              + " | "
              + k.documentation
              + " |");
    }
  }
}
