package io.softstream.topology.models;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The model-version table, read from the compacted model-versions topic (key {@code
 * name:kind:version}; the latest record per key is that version's state). The active version of a
 * model is the one whose latest ACTIVE announcement has the highest offset, so promoting v2 and
 * later re-announcing v1 as ACTIVE (a rollback) is the same operation, and compaction never changes
 * the answer.
 *
 * <p>Not thread-safe: one owner calls {@link #refresh}. No consumer group: every reader sees
 * everything.
 */
public final class ModelCatalog implements AutoCloseable {
  /** A version as last announced, with the offset of that announcement. */
  public record Entry(ModelVersion version, long offset) {}

  private final KafkaConsumer<String, ModelVersion> consumer;
  private final TopicPartition partition;
  private final Map<String, Entry> latest = new LinkedHashMap<>();

  public ModelCatalog(
      Map<String, Object> clientProps, SchemaRegistryClient registry, String topic) {
    Map<String, Object> c = new HashMap<>(clientProps);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "softstream-model-catalog-" + System.nanoTime());
    this.consumer =
        new KafkaConsumer<>(
            c, new StringDeserializer(), new AvroDeserializer<>(registry, ModelVersion.class));
    this.partition = new TopicPartition(topic, 0);
    consumer.assign(List.of(partition));
    consumer.seekToBeginning(List.of(partition));
  }

  /** Reads every announcement up to the current end of the topic; returns how many were new. */
  public int refresh(Duration timeout) {
    long end = consumer.endOffsets(List.of(partition), timeout).get(partition);
    long deadline = System.nanoTime() + timeout.toNanos();
    int n = 0;
    while (consumer.position(partition, timeout) < end && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, ModelVersion> r : consumer.poll(Duration.ofMillis(100))) {
        if (r.value() == null) {
          latest.remove(r.key());
        } else {
          latest.put(r.key(), new Entry(r.value(), r.offset()));
        }
        n++;
      }
    }
    return n;
  }

  /** Every version, as last announced, in announcement order. */
  public List<Entry> all() {
    List<Entry> l = new ArrayList<>(latest.values());
    l.sort(Comparator.comparingLong(Entry::offset));
    return l;
  }

  /** The active version of {@code name} and {@code kind}, if one was announced. */
  public Optional<ModelVersion> active(String name, ModelKind kind) {
    return activeOf(latest.values(), name, kind);
  }

  /**
   * The rule, for every reader of the topic (this catalog, the ingest gate's global table): among
   * the latest announcement of each version, the ACTIVE one of {@code name} and {@code kind} with
   * the highest offset. A null or empty {@code name} means any name (the most recently activated
   * model of that kind).
   */
  public static Optional<ModelVersion> activeOf(
      Iterable<Entry> latestPerVersion, String name, ModelKind kind) {
    Entry best = null;
    for (Entry e : latestPerVersion) {
      ModelVersion v = e.version();
      if ((name == null || name.isEmpty() || v.getName().equals(name))
          && v.getKind() == kind
          && v.getStatus() == ModelStatus.ACTIVE
          && (best == null || e.offset() > best.offset())) {
        best = e;
      }
    }
    return Optional.ofNullable(best).map(Entry::version);
  }

  /** One version's latest announcement. */
  public Optional<ModelVersion> get(String name, ModelKind kind, int version) {
    return Optional.ofNullable(latest.get(key(name, kind, version))).map(Entry::version);
  }

  /** The next free version number of {@code name} and {@code kind}. */
  public int nextVersion(String name, ModelKind kind) {
    return latest.values().stream()
            .map(Entry::version)
            .filter(v -> v.getName().equals(name) && v.getKind() == kind)
            .mapToInt(ModelVersion::getVersion)
            .max()
            .orElse(0)
        + 1;
  }

  public static String key(String name, ModelKind kind, int version) {
    return name + ":" + kind + ":" + version;
  }

  @Override
  public void close() {
    consumer.close();
  }
}
