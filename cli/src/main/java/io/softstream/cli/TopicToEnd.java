package io.softstream.cli;

import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads an Avro topic from its beginning up to the end offsets it had when opened, committed
 * records only, without a consumer group: what {@code decode} and {@code similar} read.
 *
 * <pre>{@code
 * try (TopicToEnd<TokenRecord> in = TopicToEnd.open(props, "tokens", TokenRecord.class)) {
 *   while (!in.atEnd()) {
 *     for (TokenRecord t : in.poll()) { ... }
 *   }
 * }
 * }</pre>
 */
final class TopicToEnd<V extends IndexedRecord> implements AutoCloseable {
  private final SchemaRegistryClient registry;
  private final KafkaConsumer<String, V> consumer;
  private final Map<TopicPartition, Long> end;

  private TopicToEnd(Map<String, Object> clientProps, String topic, Class<V> type) {
    Map<String, Object> c = new HashMap<>(clientProps);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    registry = SchemaRegistryClients.create(clientProps);
    try {
      consumer =
          new KafkaConsumer<>(c, new StringDeserializer(), new AvroDeserializer<>(registry, type));
      List<TopicPartition> parts =
          consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      end = consumer.endOffsets(parts);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  static <V extends IndexedRecord> TopicToEnd<V> open(
      Map<String, Object> clientProps, String topic, Class<V> type) {
    return new TopicToEnd<>(clientProps, topic, type);
  }

  /** Whether every partition is read up to the end it had when opened. */
  boolean atEnd() {
    return end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
  }

  /** The values of the next records (null for a tombstone); empty when none came within 300 ms. */
  List<V> poll() {
    List<V> values = new ArrayList<>();
    for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(300))) {
      values.add(r.value());
    }
    return values;
  }

  @Override
  public void close() {
    if (consumer != null) {
      consumer.close();
    }
    registry.close();
  }
}
