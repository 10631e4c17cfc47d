package io.softstream.trainer;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Training data from Kafka: the most recent images of an ImageEvent topic, for retraining on what
 * is served.
 */
public final class TopicImages {
  private TopicImages() {}

  /**
   * The last {@code max} decodable images of {@code topic} (read_committed, spread over its
   * partitions), as a data set of {@code shape}'s channels and size, prepared by the image
   * translator exactly as an encode worker serving the model prepares them. Undecodable images are
   * skipped: they are not training data.
   *
   * @throws IllegalArgumentException if the topic holds no decodable image
   */
  public static Dataset recent(
      Map<String, Object> clientProps, String topic, int max, TokenizerConfig shape) {
    ImageTranslator decoder =
        new ImageTranslator(
            shape.imageSize(),
            shape.channels(),
            ImageTranslator.Resize.FIT,
            ImageLimits.of(16 * 1024 * 1024, 100_000_000));
    Map<String, Object> cc = new HashMap<>(clientProps);
    cc.put("isolation.level", "read_committed");
    cc.put("enable.auto.commit", false);
    cc.put("max.partition.fetch.bytes", 16 * 1024 * 1024);
    int floats = shape.channels() * shape.imageSize() * shape.imageSize();
    List<float[]> images = new ArrayList<>();
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(clientProps);
        KafkaConsumer<String, ImageEvent> consumer =
            new KafkaConsumer<>(
                cc, new StringDeserializer(), new AvroDeserializer<>(schemas, ImageEvent.class))) {
      List<TopicPartition> parts =
          consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
      int share = Math.max(1, max / parts.size() + 1);
      parts.forEach(tp -> consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - share)));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline
          && parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, ImageEvent> r : consumer.poll(Duration.ofMillis(300))) {
          float[] px = new float[floats];
          try {
            byte[] bytes = new byte[r.value().getImageBytes().remaining()];
            r.value().getImageBytes().duplicate().get(bytes);
            decoder.decodeInto(bytes, r.value().getContentType(), px, 0);
            images.add(px);
          } catch (RuntimeException bad) {
            // an undecodable image is simply not training data
          }
        }
      }
    }
    if (images.isEmpty()) {
      throw new IllegalArgumentException("No decodable images on topic " + topic);
    }
    List<float[]> recent = images.subList(Math.max(0, images.size() - max), images.size());
    float[] all = new float[recent.size() * floats];
    for (int i = 0; i < recent.size(); i++) {
      System.arraycopy(recent.get(i), 0, all, i * floats, floats);
    }
    return new Dataset(all, null, shape.channels(), shape.imageSize());
  }
}
