package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The token cache end to end: the ingest gate (Kafka Streams, exactly_once_v2) in front of an
 * encode worker. The same 200 images sent twice through image-ingest: the second pass is answered
 * by the gate alone (200 cache hits), the worker consumes nothing, and the tokens equal the first
 * pass's.
 */
class IngestCacheIT extends WorkerIT {

  @Test
  void theSecondPassOfTheSameImagesIsAllCacheHits() throws Exception {
    TopicLayout t = freshTopics();
    Map<String, Object> s = new HashMap<>(platform.clientProperties());
    s.put(StreamsSettings.TOPIC_PREFIX, t.prefix());
    s.put(StreamsSettings.STATE_DIR, dir.resolve("streams-" + t.prefix()).toString());
    s.put(StreamsSettings.METRICS_PORT, 0);
    s.put("commit.interval.ms", 100);
    List<byte[]> pictures = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      pictures.add(TestImages.random(8, 8, "png", i));
    }
    try (EncodeWorker worker = new EncodeWorker(new WorkerConfig(workerProps(t, "cache-1")));
        StreamsRunner gate =
            new StreamsRunner(new StreamsSettings(s), StreamsApps.select("ingest"))) {
      runInBackground(worker);
      gate.start();

      // Pass 1: no active encoder announced yet, so the gate forwards; the worker encodes.
      produceImages(t.ingest(), events("first-", pictures));
      List<ConsumerRecord<String, TokenRecord>> first =
          readCommitted(t.tokens(), TokenRecord.class, 200, Duration.ofSeconds(60));
      assertThat(first).hasSize(200);
      assertThat(first)
          .allMatch(r -> r.value().getContentSha256() != null && !r.value().getCacheHit());
      TokenRecord any = first.get(0).value();
      announce(t, any.getModelName(), any.getModelVersion());
      double consumed = worker.metrics().recordsInCount();

      // Pass 2: identical bytes under new ids.
      produceImages(t.ingest(), events("second-", pictures));
      List<ConsumerRecord<String, TokenRecord>> all =
          readCommitted(t.tokens(), TokenRecord.class, 400, Duration.ofSeconds(60));
      List<TokenRecord> second =
          all.stream()
              .map(ConsumerRecord::value)
              .filter(v -> v.getImageId().startsWith("second-"))
              .toList();
      assertThat(second).hasSize(200).allMatch(TokenRecord::getCacheHit);
      assertThat(worker.metrics().recordsInCount()).isEqualTo(consumed);
      Map<String, ByteBuffer> firstTokens =
          first.stream()
              .collect(
                  Collectors.toMap(
                      r -> r.value().getImageId().substring(6), r -> r.value().getTokens()));
      for (TokenRecord r : second) {
        assertThat(r.getTokens()).isEqualTo(firstTokens.get(r.getImageId().substring(7)));
      }
      // Hit rate in /metrics (the metric list is re-scanned every few seconds).
      String pattern = "(?m)^kafka_stream_ingest_gate_hit_total\\{.*\\} 200\\.0$";
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (!java.util.regex.Pattern.compile(pattern).matcher(gate.scrape()).find()
          && System.nanoTime() < until) {
        Thread.sleep(500);
      }
      assertThat(gate.scrape()).containsPattern(pattern);
    }
  }

  static List<ImageEvent> events(String prefix, List<byte[]> pictures) {
    List<ImageEvent> l = new ArrayList<>();
    for (int i = 0; i < pictures.size(); i++) {
      l.add(image(prefix + i, pictures.get(i), "image/png"));
    }
    return l;
  }

  static void announce(TopicLayout t, String name, int version) throws Exception {
    ModelVersion v =
        ModelVersion.newBuilder()
            .setName(name)
            .setKind(ModelKind.ENCODER)
            .setVersion(version)
            .setArtifactLocation("file:///unused")
            .setSha256("0".repeat(64))
            .setSizeBytes(1)
            .setCreatedAt(Instant.now())
            .setStatus(ModelStatus.ACTIVE)
            .build();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, ModelVersion> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      p.send(
              new ProducerRecord<>(
                  t.modelVersions(), ModelCatalog.key(name, ModelKind.ENCODER, version), v))
          .get();
    }
    Thread.sleep(1000); // the global table follows the topic asynchronously
  }
}
