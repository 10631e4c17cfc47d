package io.softstream.cli;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.embedded.EmbeddedPlatform;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs the whole system on the embedded default: a real KRaft broker (child JVM), the schema registry,
 * the topics, then real images through Kafka, printing what flowed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Start an embedded Kafka broker and schema registry, feed real images (Fashion-MNIST and "
        + "wallpaper photos from Debian packages) as ImageEvents, consume them back and print what happened."})
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--data-dir", defaultValue = "data/demo",
      description = "Where the broker keeps its data; reused across runs (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--fresh", description = "Delete the data directory first.")
  boolean fresh;

  @Option(names = "--fashion-images", defaultValue = "24", description = "Fashion-MNIST images to send (default: ${DEFAULT-VALUE}).")
  int fashionImages;

  @Option(names = "--photos", defaultValue = "8", description = "256x256 photo crops to send (default: ${DEFAULT-VALUE}).")
  int photos;

  @Option(names = "--registry-port", defaultValue = "0",
      description = "Schema registry port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int registryPort;

  @Option(names = "--keep-running", description = "Keep broker and registry up after the demo until Ctrl-C.")
  boolean keepRunning;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (fresh) {
      deleteRecursively(dataDir);
    }
    List<SampleImages.Sample> samples = new ArrayList<>(SampleImages.fashionMnist(fashionImages));
    samples.addAll(SampleImages.photos(photos, 7));
    out.printf("Softstream demo: %d real images (%d Fashion-MNIST PNG, %d photo JPEG)%n", samples.size(),
        fashionImages, photos);

    long t0 = System.nanoTime();
    try (EmbeddedPlatform platform = EmbeddedPlatform.start(dataDir, registryPort, TopicLayout.defaults())) {
      TopicLayout topics = platform.layout();
      out.printf("Kafka broker (KRaft, child JVM) at %s, data in %s, up in %.1f s%n", platform.bootstrapServers(),
          platform.broker().dataDir(), (System.nanoTime() - t0) / 1e9);
      out.printf("Schema registry (Confluent REST API, stored in topic %s) at %s%n", topics.schemas(),
          platform.schemaRegistryUrl());
      out.printf("Topics: %d created, %d already there: %s%n", platform.topics().created().size(),
          platform.topics().existing().size(), String.join(", ", topics.all().stream().map(t -> t.name()
              + "(" + t.partitions() + ")").toList()));
      out.flush();

      Map<String, Object> props = platform.clientProperties();
      try (SchemaRegistryClient registry = SchemaRegistryClients.create(props)) {
        String runId = Long.toString(System.currentTimeMillis(), 36);
        Map<String, RecordMetadata> sent = produce(out, props, registry, topics.images(), samples, runId);
        Map<String, ImageEvent> received = consume(out, props, registry, topics.images(), sent);
        long missing = sent.keySet().stream().filter(k -> !received.containsKey(k)).count();
        out.printf("%nSummary: sent %d ImageEvents (%,d image bytes), received %d, missing %d.%n", sent.size(),
            samples.stream().mapToLong(s -> s.bytes().length).sum(), received.size(), missing);
        out.printf("Registry subjects: %s; %s-value versions %s%n", registry.subjects(), topics.images(),
            registry.versions(topics.images() + "-value"));
        if (keepRunning) {
          out.printf("%nRunning until Ctrl-C. Try:%n  kcat -b %s -t %s -C -e -f '%%p@%%o key=%%k %%S bytes%%n'%n"
              + "  curl %s/subjects%n", platform.bootstrapServers(), topics.images(), platform.schemaRegistryUrl());
          out.flush();
          CountDownLatch stop = new CountDownLatch(1);
          Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
          stop.await();
        }
        return missing == 0 ? 0 : 1;
      }
    }
  }

  private Map<String, RecordMetadata> produce(PrintWriter out, Map<String, Object> props, SchemaRegistryClient registry,
      String topic, List<SampleImages.Sample> samples, String runId) throws Exception {
    Map<String, Object> p = new HashMap<>(props);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10 * 1024 * 1024);
    Map<String, RecordMetadata> sent = new LinkedHashMap<>();
    out.printf("%n→ producing to %s%n", topic);
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(p, new StringSerializer(),
        new AvroSerializer<>(registry, props, false))) {
      for (SampleImages.Sample s : samples) {
        String id = s.id() + "-" + runId;
        ImageEvent e = ImageEvent.newBuilder().setId(id).setSource(s.source()).setContentType(s.contentType())
            .setImageBytes(ByteBuffer.wrap(s.bytes())).setWidth(s.width()).setHeight(s.height())
            .setEventTime(Instant.now()).setAttributes(Map.of("label", s.label(), "run", runId)).build();
        RecordMetadata m = producer.send(new ProducerRecord<>(topic, id, e)).get();
        sent.put(id, m);
        out.printf("  %-28s %-10s %6d B %4dx%-4d %-12s → partition %d offset %d%n", id, s.contentType(),
            s.bytes().length, s.width(), s.height(), s.label(), m.partition(), m.offset());
      }
    }
    out.flush();
    return sent;
  }

  private Map<String, ImageEvent> consume(PrintWriter out, Map<String, Object> props, SchemaRegistryClient registry,
      String topic, Map<String, RecordMetadata> expected) throws IOException {
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "demo-reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 32 * 1024 * 1024);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    Map<String, ImageEvent> received = new LinkedHashMap<>();
    out.printf("%n← consuming from %s (read_committed)%n", topic);
    try (KafkaConsumer<String, ImageEvent> consumer = new KafkaConsumer<>(c, new StringDeserializer(),
        new AvroDeserializer<>(registry, ImageEvent.class))) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (received.size() < expected.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, ImageEvent> r : consumer.poll(Duration.ofMillis(500))) {
          if (!expected.containsKey(r.key())) {
            continue; // from an earlier run on the same data dir
          }
          ImageEvent e = r.value();
          var img = ImageIO.read(new ByteArrayInputStream(e.getImageBytes().array()));
          received.put(r.key(), e);
          out.printf("  %-28s partition %d offset %-4d decoded %dx%d %-10s end-to-end %d ms%n", r.key(), r.partition(),
              r.offset(), img.getWidth(), img.getHeight(), e.getContentType(),
              Math.max(0, System.currentTimeMillis() - e.getEventTime().toEpochMilli()));
        }
      }
    }
    out.flush();
    return received;
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
