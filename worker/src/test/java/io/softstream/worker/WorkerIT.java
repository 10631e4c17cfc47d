package io.softstream.worker;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * Base of worker integration tests: a real broker + registry per class, a tiny random model, fresh
 * topics per test.
 */
@Tag("integration")
abstract class WorkerIT {
  static EmbeddedPlatform platform;
  static Path model;
  static Path dir;
  static final AtomicInteger SEQ = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("worker-it-");
    platform = EmbeddedPlatform.start(dir.resolve("platform"), 0, TopicLayout.defaults());
    model =
        TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny-softvq");
  }

  @AfterAll
  static void stop() {
    if (platform != null) {
      platform.close();
    }
  }

  static TopicLayout freshTopics() {
    TopicLayout layout =
        TopicLayout.of("w" + SEQ.incrementAndGet() + "-" + System.nanoTime() % 100000 + "-");
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      TopicAdmin.ensure(admin, layout.all());
    }
    return layout;
  }

  static Map<String, Object> workerProps(TopicLayout t, String workerId) {
    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    p.put(WorkerConfig.WORKER_ID, workerId);
    p.put(WorkerConfig.TOPIC_PREFIX, t.prefix());
    p.put(WorkerConfig.GROUP_ID, t.prefix() + "workers");
    p.put(WorkerConfig.MODEL_DIR, model.toString());
    p.put(WorkerConfig.ENGINE, "pytorch");
    p.put(WorkerConfig.METRICS_PORT, 0);
    return p;
  }

  static ImageEvent image(String id, byte[] bytes, String type) {
    return ImageEvent.newBuilder()
        .setId(id)
        .setSource("test")
        .setContentType(type)
        .setImageBytes(ByteBuffer.wrap(bytes))
        .setEventTime(Instant.now())
        .build();
  }

  static void produceImages(String topic, List<ImageEvent> events) throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, ImageEvent> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      for (ImageEvent e : events) {
        p.send(new ProducerRecord<>(topic, e.getId(), e));
      }
      p.flush();
    }
  }

  static void produceRaw(String topic, String key, byte[] value) throws Exception {
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(
            platform.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      p.send(new ProducerRecord<>(topic, key == null ? null : key.getBytes(), value)).get();
    }
  }

  /**
   * Reads committed records until {@code n} arrived (then a little longer, to catch duplicates) or
   * the timeout.
   */
  static <T extends SpecificRecord> List<ConsumerRecord<String, T>> readCommitted(
      String topic, Class<T> type, int n, Duration timeout) {
    return readCommitted(topic, type, n, timeout, platform.clientProperties());
  }

  static <T extends SpecificRecord> List<ConsumerRecord<String, T>> readCommitted(
      String topic, Class<T> type, int n, Duration timeout, Map<String, Object> clientProps) {
    Map<String, Object> c = new HashMap<>(clientProps);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, T>> out = new ArrayList<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(clientProps);
        KafkaConsumer<String, T> consumer =
            new KafkaConsumer<>(
                c, new StringDeserializer(), new AvroDeserializer<>(registry, type))) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (out.size() < n && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(300)).forEach(out::add);
      }
      long extra = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (System.nanoTime() < extra) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  /** Runs a worker on its own thread; returns the thread. */
  static Thread runInBackground(AbstractWorker w) {
    return w.startInBackground("worker-" + System.nanoTime());
  }
}
