package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelArtifacts;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Hot swap under a steady stream: v1 serves; v2 is published and taken between batches; a corrupted
 * artifact (bad checksum) and one that fails to load leave v2 serving; a correct v5 is taken; a
 * rollback to v2 is taken the same way; a worker started afterwards comes up on the current active
 * version. Every image gets exactly one token record; per partition the versions change only in
 * announcement order.
 */
class ModelSwapIT extends WorkerIT {
  static final String NAME = "tiny-swap";

  @Test
  void versionsSwitchBetweenBatchesWithNothingLostOrDuplicated() throws Exception {
    TopicLayout t = freshTopics();
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    Path v1 = TestImages.tinyModel(dir.resolve("swap-v1"), cfg, NAME, 11);
    Path v2 = TestImages.tinyModel(dir.resolve("swap-v2"), cfg, NAME, 12);
    Path v5 = TestImages.tinyModel(dir.resolve("swap-v5"), cfg, NAME, 15);
    Path broken = Files.createDirectories(dir.resolve("swap-broken"));
    Files.writeString(
        broken.resolve("model.json"), "{\"format_version\": 99, \"kind\": \"tokenizer\"}");

    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t)) {
      models.publish(v1, NAME, ModelKind.ENCODER, 1, Map.of("psnr", 20.0), ModelStatus.ACTIVE);

      Map<String, Object> props = workerProps(t, "swap-1");
      props.remove(WorkerConfig.MODEL_DIR);
      props.put(WorkerConfig.MODEL_NAME, NAME);
      props.put(WorkerConfig.MODEL_WATCH, true);
      props.put(WorkerConfig.BATCH_MAX_RECORDS, 8);
      props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-1").toString());
      EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
      assertThat(worker.servingVersion()).isEqualTo(1);
      Thread thread = runInBackground(worker);

      int total = 1500;
      byte[] png = TestImages.random(8, 8, "png", 1);
      ExecutorService feeder = Executors.newSingleThreadExecutor();
      Future<?> feeding =
          feeder.submit(
              () -> {
                for (int i = 0; i < total; i += 15) {
                  List<ImageEvent> chunk = new ArrayList<>();
                  for (int j = i; j < i + 15; j++) {
                    chunk.add(image("img-" + j, png, "image/png"));
                  }
                  produceImages(t.images(), chunk);
                  Thread.sleep(100);
                }
                return null;
              });

      awaitServing(worker, 1);
      Thread.sleep(1500);
      models.publish(v2, NAME, ModelKind.ENCODER, 2, Map.of("psnr", 21.0), ModelStatus.ACTIVE);
      awaitServing(worker, 2);

      // v3: the announced checksum does not match the uploaded bytes.
      byte[] good = ModelArtifacts.pack(v5);
      byte[] corrupted = good.clone();
      corrupted[corrupted.length / 2] ^= 0x5a;
      String key3 = ModelCatalog.key(NAME, ModelKind.ENCODER, 3);
      models.uploadChunks(key3, corrupted, ModelArtifacts.sha256(good));
      models.announce(
          ModelVersion.newBuilder()
              .setName(NAME)
              .setKind(ModelKind.ENCODER)
              .setVersion(3)
              .setArtifactLocation("kafka://" + t.modelArtifacts() + "/" + key3)
              .setSha256(ModelArtifacts.sha256(good))
              .setSizeBytes(good.length)
              .setCreatedAt(Instant.now())
              .setStatus(ModelStatus.ACTIVE)
              .build());
      awaitFailures(worker, 1);
      // v4: a well-formed artifact whose model cannot load.
      models.publish(broken, NAME, ModelKind.ENCODER, 4, Map.of(), ModelStatus.ACTIVE);
      awaitFailures(worker, 2);
      assertThat(worker.servingVersion())
          .as("v2 keeps serving after two bad announcements")
          .isEqualTo(2);

      models.publish(v5, NAME, ModelKind.ENCODER, 5, Map.of("psnr", 22.0), ModelStatus.ACTIVE);
      awaitServing(worker, 5);
      // Rollback under load: announce v2 as ACTIVE again.
      ModelVersion v2Announced;
      try (ModelCatalog catalog =
          new ModelCatalog(platform.clientProperties(), schemas, t.modelVersions())) {
        catalog.refresh(Duration.ofSeconds(10));
        v2Announced = catalog.get(NAME, ModelKind.ENCODER, 2).orElseThrow();
        assertThat(catalog.active(NAME, ModelKind.ENCODER).orElseThrow().getVersion()).isEqualTo(5);
      }
      models.announce(ModelVersion.newBuilder(v2Announced).setCreatedAt(Instant.now()).build());
      awaitServing(worker, 2);
      assertThat(feeding.isDone())
          .as("all switches happened while images were streaming")
          .isFalse();
      feeding.get();

      // A worker started now comes up on the current active version.
      Map<String, Object> late = new HashMap<>(props);
      late.put(WorkerConfig.WORKER_ID, "swap-late");
      late.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-2").toString());
      EncodeWorker lateWorker = new EncodeWorker(new WorkerConfig(late));
      assertThat(lateWorker.servingVersion()).isEqualTo(2);
      lateWorker.release();

      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, total, Duration.ofSeconds(90));
      worker.close();
      thread.join(30_000);
      feeder.shutdown();

      Map<String, Long> counts =
          tokens.stream()
              .collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
      assertThat(counts).hasSize(total);
      assertThat(counts.values()).allMatch(c -> c == 1L);
      assertThat(tokens.stream().map(r -> r.value().getModelVersion()).distinct().sorted().toList())
          .containsExactly(1, 2, 5);
      // Per partition, in offset order, versions follow the announcements: 1..., 2..., 5..., 2...
      Map<Integer, List<ConsumerRecord<String, TokenRecord>>> byPartition =
          tokens.stream().collect(Collectors.groupingBy(ConsumerRecord::partition));
      List<Integer> order = List.of(1, 2, 5, 2);
      long largestPauseMs = 0;
      for (List<ConsumerRecord<String, TokenRecord>> l : byPartition.values()) {
        l.sort(Comparator.comparingLong(ConsumerRecord::offset));
        int stage = 0;
        for (ConsumerRecord<String, TokenRecord> r : l) {
          int v = r.value().getModelVersion();
          while (stage < order.size() && order.get(stage) != v) {
            stage++;
          }
          assertThat(stage)
              .as(
                  "partition %d offset %d version %d out of announcement order",
                  r.partition(), r.offset(), v)
              .isLessThan(order.size());
        }
      }
      List<Long> times = tokens.stream().map(ConsumerRecord::timestamp).sorted().toList();
      for (int i = 1; i < times.size(); i++) {
        largestPauseMs = Math.max(largestPauseMs, times.get(i) - times.get(i - 1));
      }
      System.out.println(
          "ModelSwapIT: largest pause between committed token records: " + largestPauseMs + " ms");
      assertThat(worker.metrics().modelLoadFailureCount()).isEqualTo(2);

      // Old tokens keep decoding with the decoder of exactly their version, fetched from Kafka on
      // first use.
      models.publish(v1, NAME, ModelKind.DECODER, 1, Map.of(), ModelStatus.RETIRED);
      models.publish(v2, NAME, ModelKind.DECODER, 2, Map.of(), ModelStatus.ACTIVE);
      models.publish(v5, NAME, ModelKind.DECODER, 5, Map.of(), ModelStatus.CANDIDATE);
      Map<String, Object> dprops = workerProps(t, "swap-dec");
      dprops.remove(WorkerConfig.MODEL_DIR);
      dprops.put(WorkerConfig.MODEL_NAME, NAME);
      dprops.put(WorkerConfig.MODEL_WATCH, true);
      dprops.put(WorkerConfig.BATCH_MAX_RECORDS, 64);
      dprops.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-dec").toString());
      DecodeWorker decoder = new DecodeWorker(new WorkerConfig(dprops));
      Thread dthread = runInBackground(decoder);
      try {
        Map<String, Integer> versionOf =
            tokens.stream()
                .collect(Collectors.toMap(ConsumerRecord::key, r -> r.value().getModelVersion()));
        List<ConsumerRecord<String, ImageEvent>> recon =
            readCommitted(t.reconstructions(), ImageEvent.class, total, Duration.ofSeconds(90));
        assertThat(recon).hasSize(total);
        for (ConsumerRecord<String, ImageEvent> r : recon) {
          assertThat(r.value().getSource())
              .isEqualTo("reconstruction by " + NAME + ":" + versionOf.get(r.key()));
        }
      } finally {
        decoder.close();
        dthread.join(30_000);
      }
    }
  }

  @Test
  void aCanaryShareGoesToTheCandidateByKeyHashUntilItIsPromoted() throws Exception {
    TopicLayout t = freshTopics();
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    Path v1 = TestImages.tinyModel(dir.resolve("canary-v1"), cfg, "tiny-canary", 21);
    Path v2 = TestImages.tinyModel(dir.resolve("canary-v2"), cfg, "tiny-canary", 22);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t)) {
      models.publish(v1, "tiny-canary", ModelKind.ENCODER, 1, Map.of(), ModelStatus.ACTIVE);
      Map<String, Object> props = workerProps(t, "canary-1");
      props.remove(WorkerConfig.MODEL_DIR);
      props.put(WorkerConfig.MODEL_NAME, "tiny-canary");
      props.put(WorkerConfig.MODEL_WATCH, true);
      props.put(WorkerConfig.CANARY_FRACTION, 0.3);
      props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-canary").toString());
      EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
      Thread thread = runInBackground(worker);
      models.publish(v2, "tiny-canary", ModelKind.ENCODER, 2, Map.of(), ModelStatus.CANDIDATE);
      long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
      while (worker.canaryVersion() != 2 && System.nanoTime() < deadline) {
        produceImages(
            t.images(),
            List.of(
                image(
                    "warm-" + System.nanoTime(), TestImages.random(8, 8, "png", 3), "image/png")));
        Thread.sleep(200);
      }
      assertThat(worker.canaryVersion()).isEqualTo(2);
      List<ImageEvent> batch = new ArrayList<>();
      byte[] png = TestImages.random(8, 8, "png", 4);
      for (int i = 0; i < 400; i++) {
        batch.add(image("c-" + i, png, "image/png"));
      }
      produceImages(t.images(), batch);
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 400, Duration.ofSeconds(60)).stream()
              .filter(r -> r.key().startsWith("c-"))
              .toList();
      assertThat(tokens).hasSize(400);
      int canaried = 0;
      for (ConsumerRecord<String, TokenRecord> r : tokens) {
        byte[] key = r.key().getBytes();
        boolean expectCanary =
            org.apache.kafka.common.utils.Utils.toPositive(
                        org.apache.kafka.common.utils.Utils.murmur2(key))
                    % 10_000
                < 3_000;
        assertThat(r.value().getModelVersion()).as(r.key()).isEqualTo(expectCanary ? 2 : 1);
        canaried += expectCanary ? 1 : 0;
      }
      assertThat(canaried).isBetween(80, 160);
      assertThat(worker.metrics().recordsOutByVersionCount("tiny-canary", 2))
          .isGreaterThanOrEqualTo(canaried);
      assertThat(worker.metrics().scrape())
          .contains(
              "softstream_records_by_version_total{model=\"tiny-canary\",role=\"encode\",version=\"1\"");

      models.announce(
          ModelVersion.newBuilder(
                  models.publish(
                      v2, "tiny-canary", ModelKind.ENCODER, 3, Map.of(), ModelStatus.ACTIVE))
              .build());
      awaitServing(worker, 3);
      assertThat(worker.canaryVersion()).isZero();
      worker.close();
      thread.join(30_000);
    }
  }

  private static void awaitServing(EncodeWorker w, int version) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (w.servingVersion() != version && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(w.servingVersion()).as("serving version").isEqualTo(version);
  }

  private static void awaitFailures(EncodeWorker w, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (w.metrics().modelLoadFailureCount() < n && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(w.metrics().modelLoadFailureCount()).isEqualTo(n);
  }
}
