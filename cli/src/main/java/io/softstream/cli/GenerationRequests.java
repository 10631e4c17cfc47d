package io.softstream.cli;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sends one GenerationRequest and waits for its GeneratedImages or the dead letter that rejects it:
 * what {@code softstream request} and the dashboard's generation form do.
 */
final class GenerationRequests {
  private GenerationRequests() {}

  /** How a request ended: the images received, or the rejection ("ErrorClass: reason"). */
  record Outcome(String requestId, List<GeneratedImage> images, String rejection) {}

  /** A new request id. */
  static String newId() {
    return "req-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Sends {@code req} to the generation-requests topic and waits (at most {@code timeout}) for its
   * {@code getCount()} images; {@code sent} hears where it went, {@code onImage} each image as it
   * arrives.
   */
  static Outcome send(
      Map<String, Object> props,
      TopicLayout topics,
      GenerationRequest req,
      Duration timeout,
      Consumer<RecordMetadata> sent,
      Consumer<GeneratedImage> onImage)
      throws Exception {
    String id = req.getRequestId();
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<GeneratedImage> got = new ArrayList<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaConsumer<String, byte[]> consumer =
            new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<String, GenerationRequest> producer =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      // Listen from the current end before sending, so no answer can be missed.
      List<TopicPartition> parts = new ArrayList<>();
      for (String t : List.of(topics.generatedImages(), topics.deadLetters())) {
        consumer.partitionsFor(t).forEach(p -> parts.add(new TopicPartition(t, p.partition())));
      }
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position);
      sent.accept(producer.send(new ProducerRecord<>(topics.generationRequests(), id, req)).get());
      AvroDeserializer<GeneratedImage> images =
          new AvroDeserializer<>(registry, GeneratedImage.class);
      AvroDeserializer<DeadLetter> dead = new AvroDeserializer<>(registry, DeadLetter.class);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (got.size() < req.getCount() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
          if (r.topic().equals(topics.deadLetters())) {
            DeadLetter d = dead.deserialize(r.topic(), r.headers(), r.value());
            String key = d.getOriginalKey() == null ? "" : utf8(d.getOriginalKey());
            // The generation app's unit jobs are keyed <request id>#<first index>.
            if (key.equals(id) || key.startsWith(id + "#")) {
              return new Outcome(id, got, d.getErrorClass() + ": " + d.getReason());
            }
          } else if (id.equals(r.key())) {
            GeneratedImage g = images.deserialize(r.topic(), r.headers(), r.value());
            got.add(g);
            onImage.accept(g);
          }
        }
      }
    }
    return new Outcome(id, got, null);
  }

  static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] a = new byte[d.remaining()];
    d.get(a);
    return a;
  }

  private static String utf8(ByteBuffer b) {
    return new String(bytes(b), StandardCharsets.UTF_8);
  }
}
