package io.softstream.worker;

import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Base of the Kafka Streams app ITs: runs an app in a child JVM that a test can SIGKILL. */
abstract class StreamsAppIT extends WorkerIT {
  /** A running app: its process and the file its output goes to. */
  record App(Process process, Path log) {
    /** Records restored into {@code store} from its changelog, as the app printed them. */
    long restored(String store) throws IOException {
      return Files.readAllLines(log).stream()
          .filter(l -> l.startsWith("restored " + store + " "))
          .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1)))
          .sum();
    }
  }

  /** Starts {@code app} in a child JVM on a fresh state dir; its output goes to a log file. */
  static App launch(String app, TopicLayout t, String appId) throws IOException {
    Path state = Files.createTempDirectory(dir, app + "-state-");
    Path logFile = Files.createTempFile(dir, app + "-", ".log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                List.of(
                    java,
                    "-Xmx256m",
                    "-cp",
                    System.getProperty("java.class.path"),
                    StreamsAppMain.class.getName(),
                    app,
                    platform.bootstrapServers(),
                    platform.schemaRegistryUrl(),
                    t.prefix(),
                    appId,
                    state.toString()))
            .redirectErrorStream(true)
            .redirectOutput(logFile.toFile())
            .start();
    return new App(p, logFile);
  }

  /** Sends Avro values keyed by {@code key}, with timestamps from {@code time} (null: now). */
  static <T extends SpecificRecord> void produce(
      String topic, List<T> values, Function<T, String> key) throws Exception {
    produce(topic, values, key, v -> null);
  }

  static <T extends SpecificRecord> void produce(
      String topic, List<T> values, Function<T, String> key, Function<T, Long> time)
      throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, T> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      for (T v : values) {
        p.send(new ProducerRecord<>(topic, null, time.apply(v), key.apply(v), v));
      }
      p.flush();
    }
  }

  /**
   * Reads committed string records from the start until {@code done} holds for all read so far (or
   * the timeout), then a little longer to catch anything extra.
   */
  static List<ConsumerRecord<String, String>> readStrings(
      String topic, Predicate<List<ConsumerRecord<String, String>>> done, Duration timeout) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.test(out) && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(300)).forEach(out::add);
      }
      long extra = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (System.nanoTime() < extra) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  /** SIGKILL: the app gets no chance to commit, flush, close or checkpoint. */
  static void kill9(App app) throws InterruptedException {
    app.process().destroyForcibly();
    app.process().waitFor();
  }
}
