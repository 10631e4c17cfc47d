package io.softstream.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.core.RegistryRecord;
import io.softstream.schemas.registry.core.RegistryRecord.ConfigRecord;
import io.softstream.schemas.registry.core.RegistryRecord.SchemaRecord;
import io.softstream.schemas.registry.core.RegistryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the registry's records in a single-partition compacted Kafka topic (default {@code
 * _schemas}), in the same JSON key/value layout as Confluent's registry: key {@code
 * {"keytype":"SCHEMA","subject":..,"version":..,"magic":1}} → value {@code
 * {"subject","version","id","schema","deleted"}}, and key {@code
 * {"keytype":"CONFIG","subject":..|null, "magic":0}} → value {@code {"compatibilityLevel":..}} (a
 * tombstone removes a subject's level).
 *
 * <p>Writes are synchronous (acks=all, idempotent producer). Single writer: the topic is read once,
 * at construction's {@link #replay}, and never tailed, so two registries writing to the same topic
 * would diverge.
 */
public final class KafkaRegistryStore implements RegistryStore {
  private static final Logger log = LoggerFactory.getLogger(KafkaRegistryStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Highest key format this code reads; Confluent writes magic 1 for SCHEMA and 0 for CONFIG keys.
   */
  private static final int MAX_MAGIC = 1;

  private final String topic;
  private final Map<String, Object> clientConfig;
  private final Duration timeout;
  private final KafkaProducer<String, String> producer;

  /**
   * Connects to the cluster and creates {@code topic} (1 partition, compacted) if it is missing.
   *
   * @param bootstrapServers the Kafka cluster holding the topic
   * @param topic the topic name, e.g. {@code _schemas}
   * @param replicationFactor replication factor used if the topic must be created
   * @param clientOverrides extra client settings (security etc.) for the admin, producer and
   *     consumer
   * @param timeout how long a write, the topic creation or the replay may take
   */
  public KafkaRegistryStore(
      String bootstrapServers,
      String topic,
      short replicationFactor,
      Map<String, Object> clientOverrides,
      Duration timeout) {
    this.topic = topic;
    this.timeout = timeout;
    this.clientConfig = new HashMap<>(clientOverrides);
    clientConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    ensureTopic(replicationFactor);
    Map<String, Object> p = new HashMap<>(clientConfig);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout.toMillis());
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeout.toMillis(), 30_000));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "schema-registry-store-" + topic);
    this.producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  private void ensureTopic(short replicationFactor) {
    try (Admin admin = Admin.create(clientConfig)) {
      try {
        TopicDescription d =
            admin
                .describeTopics(Set.of(topic))
                .allTopicNames()
                .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .get(topic);
        if (d.partitions().size() != 1) {
          throw new IllegalStateException(
              "Schema topic '"
                  + topic
                  + "' has "
                  + d.partitions().size()
                  + " partitions; the registry needs exactly 1 to keep its records in order."
                  + " Delete it or point the registry at another topic");
        }
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw e;
        }
      }
      NewTopic t =
          new NewTopic(topic, 1, replicationFactor)
              .configs(
                  Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
      try {
        admin.createTopics(List.of(t)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        log.info(
            "Created schema topic '{}' (1 partition, compacted, replication {})",
            topic,
            replicationFactor);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while checking schema topic '" + topic + "'", e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(
          "Could not check or create schema topic '"
              + topic
              + "' on "
              + clientConfig.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)
              + ": "
              + e
              + ". Check bootstrap servers, ACLs (create/describe on the topic) and the replication factor",
          e);
    }
  }

  @Override
  public void replay(Consumer<RegistryRecord> sink) {
    Map<String, Object> c = new HashMap<>(clientConfig);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "schema-registry-replay-" + topic);
    TopicPartition tp = new TopicPartition(topic, 0);
    long deadline = System.nanoTime() + timeout.toNanos();
    int count = 0;
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp), timeout).get(tp);
      while (consumer.position(tp, timeout) < end) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "Timed out after "
                  + timeout
                  + " replaying schema topic '"
                  + topic
                  + "' (at offset "
                  + consumer.position(tp)
                  + " of "
                  + end
                  + ")");
        }
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          RegistryRecord record = decode(r.key(), r.value(), r.offset());
          if (record != null) {
            sink.accept(record);
            count++;
          }
        }
      }
      log.info("Replayed {} records from schema topic '{}' up to offset {}", count, topic, end);
    }
  }

  @Override
  public void write(List<RegistryRecord> records) {
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    for (RegistryRecord r : records) {
      String[] kv = encode(r);
      sent.add(producer.send(new ProducerRecord<>(topic, 0, kv[0], kv[1])));
    }
    try {
      for (Future<RecordMetadata> f : sent) {
        f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(
          "Interrupted while writing to schema topic '" + topic + "'", e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(
          "Write to schema topic '"
              + topic
              + "' failed: "
              + (e.getCause() != null ? e.getCause() : e),
          e);
    }
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }

  static String[] encode(RegistryRecord record) {
    ObjectNode key = JSON.createObjectNode();
    if (record instanceof SchemaRecord s) {
      key.put("keytype", "SCHEMA")
          .put("subject", s.subject())
          .put("version", s.version())
          .put("magic", 1);
      ObjectNode value = JSON.createObjectNode();
      value
          .put("subject", s.subject())
          .put("version", s.version())
          .put("id", s.id())
          .put("schema", s.schema())
          .put("deleted", s.deleted());
      return new String[] {key.toString(), value.toString()};
    }
    ConfigRecord c = (ConfigRecord) record;
    key.put("keytype", "CONFIG").put("subject", c.subject()).put("magic", 0);
    String value =
        c.level() == null
            ? null
            : JSON.createObjectNode().put("compatibilityLevel", c.level().name()).toString();
    return new String[] {key.toString(), value};
  }

  /**
   * Decodes one topic record; null for record types this registry does not keep (NOOP, MODE...).
   */
  static RegistryRecord decode(String keyJson, String valueJson, long offset) {
    try {
      JsonNode key = JSON.readTree(keyJson);
      int magic = key.path("magic").asInt(0);
      if (magic > MAX_MAGIC) {
        throw new IllegalStateException(
            "Unsupported schema topic key format magic="
                + magic
                + " at offset "
                + offset
                + "; this registry reads up to "
                + MAX_MAGIC
                + ". Upgrade the registry");
      }
      String type = key.path("keytype").asText();
      JsonNode subjectNode = key.get("subject");
      String subject = subjectNode == null || subjectNode.isNull() ? null : subjectNode.asText();
      switch (type) {
        case "SCHEMA" -> {
          if (valueJson == null) {
            return null; // hard delete of a version: not supported, ignore
          }
          JsonNode v = JSON.readTree(valueJson);
          String schemaType = v.path("schemaType").asText("AVRO");
          if (!schemaType.equals("AVRO")) {
            log.warn(
                "Skipping {} schema at offset {}: this registry keeps AVRO only",
                schemaType,
                offset);
            return null;
          }
          return new SchemaRecord(
              v.path("subject").asText(),
              v.path("version").asInt(),
              v.path("id").asInt(),
              v.path("schema").asText(),
              v.path("deleted").asBoolean(false));
        }
        case "CONFIG" -> {
          if (valueJson == null) {
            return new ConfigRecord(subject, null);
          }
          JsonNode level = JSON.readTree(valueJson).get("compatibilityLevel");
          return new ConfigRecord(
              subject,
              level == null || level.isNull() ? null : CompatibilityLevel.parse(level.asText()));
        }
        default -> {
          log.debug("Skipping schema topic record of type '{}' at offset {}", type, offset);
          return null;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Unreadable record at offset " + offset + " of the schema topic: " + keyJson, e);
    }
  }
}
