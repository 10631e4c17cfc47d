package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelRegistry;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * A decode worker fed by the model catalog in the background: tokens of a version it has not loaded
 * yet are decoded once the background loaded it, tokens of a version nobody announced become dead
 * letters naming the versions served, and neither stops the other records.
 */
class DecodeUnknownVersionIT extends WorkerIT {
  static final String NAME = "tiny-dec";

  static TokenRecord tokens(String id, int version, long seed) {
    float[] v = new float[4 * 4];
    Random r = new Random(seed);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian() * 0.1f;
    }
    return TokenRecord.newBuilder()
        .setImageId(id)
        .setModelName(NAME)
        .setModelVersion(version)
        .setTokenCount(4)
        .setTokenDim(4)
        .setDtype(TokenDtype.FP32)
        .setTokens(ByteBuffer.wrap(TokenPacking.pack(v, TokenDtype.FP32)))
        .setEncodeLatencyMicros(0)
        .setSourceTopic("images")
        .setSourcePartition(0)
        .setSourceOffset(seed)
        .setEventTime(Instant.now())
        .build();
  }

  @Test
  void tokensOfAnUnknownVersionBecomeDeadLettersWithoutStallingTheOthers() throws Exception {
    TopicLayout t = freshTopics();
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t);
        KafkaProducer<String, TokenRecord> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(schemas, platform.clientProperties(), false))) {
      models.publish(model, NAME, ModelKind.DECODER, 1, Map.of(), ModelStatus.ACTIVE);
      models.publish(
          TestImages.tinyModel(
              dir.resolve("dec-v2"), io.softstream.model.TokenizerConfig.tiny("softvq"), NAME, 8),
          NAME,
          ModelKind.DECODER,
          2,
          Map.of(),
          ModelStatus.RETIRED);
      Map<String, Object> props = workerProps(t, "dec-unknown");
      props.remove(WorkerConfig.MODEL_DIR);
      props.put(WorkerConfig.MODEL_NAME, NAME);
      props.put(WorkerConfig.MODEL_WATCH, true);
      props.put(WorkerConfig.BATCH_MAX_RECORDS, 8);
      props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-dec-unknown").toString());
      DecodeWorker worker = new DecodeWorker(new WorkerConfig(props));
      Thread thread = runInBackground(worker);
      try {
        int good = 0;
        for (int i = 0; i < 60; i++) {
          int version = i % 20 == 7 ? 99 : i % 10 == 3 ? 2 : 1;
          good += version == 99 ? 0 : 1;
          p.send(new ProducerRecord<>(t.tokens(), "t-" + i, tokens("t-" + i, version, i)));
        }
        p.flush();
        List<ConsumerRecord<String, ImageEvent>> recon =
            readCommitted(t.reconstructions(), ImageEvent.class, good, Duration.ofSeconds(90));
        List<ConsumerRecord<String, DeadLetter>> dead =
            readCommitted(t.deadLetters(), DeadLetter.class, 3, Duration.ofSeconds(30));
        assertThat(recon.stream().map(ConsumerRecord::key).distinct().count()).isEqualTo(good);
        assertThat(recon).hasSize(good);
        Map<String, String> source =
            recon.stream()
                .collect(
                    Collectors.toMap(ConsumerRecord::key, r -> r.value().getSource().toString()));
        assertThat(source.get("t-3")).isEqualTo("reconstruction by " + NAME + ":2");
        assertThat(source.get("t-0")).isEqualTo("reconstruction by " + NAME + ":1");
        assertThat(dead)
            .hasSize(3)
            .extracting(ConsumerRecord::key)
            .containsExactlyInAnyOrder("t-7", "t-27", "t-47");
        for (ConsumerRecord<String, DeadLetter> d : dead) {
          assertThat(d.value().getErrorClass().toString()).isEqualTo("UnknownModelVersion");
          assertThat(d.value().getReason().toString())
              .contains(NAME + ":99", t.modelVersions(), NAME + ":1");
        }
      } finally {
        worker.close();
        thread.join(30_000);
      }
    }
  }

  @Test
  void tokensOfAVersionWhoseArtifactCannotBeReachedWaitInsteadOfBecomingDeadLetters()
      throws Exception {
    TopicLayout t = freshTopics();
    java.nio.file.Path share = dir.resolve("share-unreachable");
    java.nio.file.Files.createDirectories(share);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t);
        KafkaProducer<String, TokenRecord> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(schemas, platform.clientProperties(), false))) {
      models.publish(model, NAME, ModelKind.DECODER, 1, Map.of(), ModelStatus.ACTIVE);
      // Version 2 lives on a shared folder that is away (an unmounted volume) until later.
      models.publishToFolder(
          model, share, NAME, ModelKind.DECODER, 2, Map.of(), ModelStatus.RETIRED);
      java.nio.file.Path away = dir.resolve("share-away");
      java.nio.file.Files.move(share, away);
      Map<String, Object> props = workerProps(t, "dec-unreachable");
      props.remove(WorkerConfig.MODEL_DIR);
      props.put(WorkerConfig.MODEL_NAME, NAME);
      props.put(WorkerConfig.MODEL_WATCH, true);
      props.put(WorkerConfig.BATCH_MAX_RECORDS, 8);
      props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-dec-unreachable").toString());
      DecodeWorker worker = new DecodeWorker(new WorkerConfig(props));
      Thread thread = runInBackground(worker);
      try {
        for (int i = 0; i < 8; i++) {
          p.send(new ProducerRecord<>(t.tokens(), "v1-" + i, tokens("v1-" + i, 1, i)));
        }
        p.flush();
        assertThat(readCommitted(t.reconstructions(), ImageEvent.class, 8, Duration.ofSeconds(60)))
            .hasSize(8);
        for (int i = 0; i < 6; i++) {
          p.send(new ProducerRecord<>(t.tokens(), "v2-" + i, tokens("v2-" + i, 2, 100 + i)));
        }
        p.flush();
        // While the artifact is away: nothing decoded, nothing dead-lettered.
        Thread.sleep(4_000);
        assertThat(readCommitted(t.reconstructions(), ImageEvent.class, 9, Duration.ofSeconds(3)))
            .hasSize(8);
        assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 1, Duration.ofSeconds(3)))
            .isEmpty();
        java.nio.file.Files.move(away, share);
        List<ConsumerRecord<String, ImageEvent>> recon =
            readCommitted(t.reconstructions(), ImageEvent.class, 14, Duration.ofSeconds(90));
        assertThat(recon).hasSize(14);
        assertThat(
                recon.stream()
                    .filter(r -> r.key().startsWith("v2-"))
                    .map(r -> r.value().getSource().toString())
                    .distinct())
            .containsExactly("reconstruction by " + NAME + ":2");
        assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 1, Duration.ofSeconds(3)))
            .isEmpty();
      } finally {
        worker.close();
        thread.join(30_000);
      }
    }
  }
}
