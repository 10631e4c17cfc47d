package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.topology.models.ModelArtifacts;
import io.softstream.worker.LowPriority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.RetriableException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The slot's lifecycle with fake engines and artifacts: no Kafka, no DJL. */
class ModelSlotTest {
  @TempDir Path tmp;

  /** A fake engine: its model.json says whether it passes its self-check. */
  static final class Engine implements AutoCloseable {
    final int version;
    boolean closed;

    Engine(int version) {
      this.version = version;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  final Map<Integer, byte[]> artifacts = new HashMap<>();
  final List<Engine> opened = new ArrayList<>();
  final WorkerMetrics metrics = new WorkerMetrics("test", "slot-test");

  @AfterEach
  void closeMetrics() {
    metrics.close();
  }

  ModelSlot<Engine> slot(double canary, int keep) {
    return new ModelSlot<>(
        new ModelSlot.Settings("m", ModelKind.ENCODER, canary, keep),
        v -> {
          if (!artifacts.containsKey(v.getVersion())) {
            throw new java.io.IOException("no artifact for version " + v.getVersion());
          }
          return artifacts.get(v.getVersion());
        },
        tmp.resolve("cache"),
        (dir, v) -> {
          if (Files.readString(dir.resolve("model.json")).contains("broken")) {
            throw new IllegalStateException("self-check failed: non-finite output");
          }
          Engine e = new Engine(v.getVersion());
          opened.add(e);
          return e;
        },
        metrics);
  }

  /** Publishes a fake artifact for {@code version} and returns its announcement. */
  ModelVersion announce(int version, ModelStatus status, String content) throws Exception {
    Path d = Files.createDirectories(tmp.resolve("src-" + version + "-" + content.hashCode()));
    Files.writeString(d.resolve("model.json"), content);
    byte[] bytes = ModelArtifacts.pack(d);
    artifacts.put(version, bytes);
    return version(version, status, ModelArtifacts.sha256(bytes));
  }

  static ModelVersion version(int version, ModelStatus status, String sha) {
    return ModelVersion.newBuilder()
        .setName("m")
        .setKind(ModelKind.ENCODER)
        .setVersion(version)
        .setArtifactLocation("test://" + version)
        .setSha256(sha)
        .setSizeBytes(1)
        .setCreatedAt(Instant.EPOCH)
        .setStatus(status)
        .build();
  }

  @Test
  void switchesOnlyBetweenBatchesAndClosesTheOldEngineWhenTheInFlightBatchEnds() throws Exception {
    ModelSlot<Engine> slot = slot(0, 0);
    Engine v1 = new Engine(1);
    slot.startOn("m", 1, v1);
    ModelSlot.Lease<Engine> inFlight = slot.begin();
    slot.update(List.of(announce(2, ModelStatus.ACTIVE, "{\"v\": 2}")));
    assertThat(inFlight.model().get()).as("a batch keeps its version").isSameAs(v1);
    assertThat(slot.activeVersion()).as("nothing switches until the next batch").isEqualTo(1);
    assertThat(slot.peek().version()).isEqualTo(2);

    ModelSlot.Lease<Engine> next = slot.begin();
    assertThat(next.model().version()).isEqualTo(2);
    assertThat(slot.activeVersion()).isEqualTo(2);
    assertThat(v1.closed).as("the in-flight batch still uses v1").isFalse();
    next.close();
    assertThat(v1.closed).isFalse();
    inFlight.close();
    assertThat(v1.closed).as("closed once no batch holds it").isTrue();
    assertThat(opened.get(0).closed).isFalse();
    assertThat(metrics.scrape()).contains("softstream_model_active{model=\"m\"");
  }

  @Test
  void aStagedVersionReplacedBeforeItServedIsClosed() throws Exception {
    ModelSlot<Engine> slot = slot(0, 0);
    slot.startOn("m", 1, new Engine(1));
    slot.update(List.of(announce(2, ModelStatus.ACTIVE, "{\"v\": 2}")));
    slot.update(
        List.of(
            announce(2, ModelStatus.ACTIVE, "{\"v\": 2}"),
            announce(3, ModelStatus.ACTIVE, "{\"v\": 3}")));
    assertThat(opened).hasSize(2);
    assertThat(opened.get(0).closed).isTrue();
    try (var lease = slot.begin()) {
      assertThat(lease.model().version()).isEqualTo(3);
    }
  }

  @Test
  void aBadChecksumAFailedLoadOrAFailedSelfCheckKeepTheCurrentVersionServing() throws Exception {
    ModelSlot<Engine> slot = slot(0, 0);
    Engine v1 = new Engine(1);
    slot.startOn("m", 1, v1);
    ModelVersion good = announce(2, ModelStatus.ACTIVE, "{\"v\": 2}");
    ModelVersion badChecksum = version(2, ModelStatus.ACTIVE, "0".repeat(64));
    slot.update(List.of(badChecksum));
    assertThat(metrics.modelLoadFailureCount()).isEqualTo(1);
    ModelVersion unfetchable =
        version(3, ModelStatus.ACTIVE, "ab".repeat(32)); // no artifact: fetch fails
    slot.update(List.of(good, unfetchable));
    assertThat(metrics.modelLoadFailureCount()).isEqualTo(2);
    ModelVersion broken = announce(4, ModelStatus.ACTIVE, "{\"broken\": true}");
    slot.update(List.of(good, broken));
    assertThat(metrics.modelLoadFailureCount()).isEqualTo(3);
    slot.update(List.of(good, broken));
    assertThat(metrics.modelLoadFailureCount())
        .as("a failed announcement is not retried")
        .isEqualTo(3);
    try (var lease = slot.begin()) {
      assertThat(lease.model().get()).isSameAs(v1);
    }
    assertThat(v1.closed).isFalse();
    assertThat(opened).isEmpty();

    slot.update(List.of(good, broken, announce(5, ModelStatus.ACTIVE, "{\"v\": 5}")));
    try (var lease = slot.begin()) {
      assertThat(lease.model().version()).isEqualTo(5);
    }
    assertThat(v1.closed).isTrue();
  }

  @Test
  void aCanaryTakesItsShareOfKeysUntilItIsPromoted() throws Exception {
    ModelSlot<Engine> slot = slot(0.25, 0);
    slot.startOn("m", 1, new Engine(1));
    ModelVersion v1 = announce(1, ModelStatus.ACTIVE, "{\"v\": 1}");
    slot.update(List.of(v1, announce(2, ModelStatus.CANDIDATE, "{\"v\": 2}")));
    Engine canary = opened.get(0);
    try (var lease = slot.begin()) {
      assertThat(slot.canaryVersion()).isEqualTo(2);
      int toCanary = 0;
      for (int i = 0; i < 10_000; i++) {
        byte[] key = ("img-" + i).getBytes();
        ModelSlot.Model<Engine> m = lease.pick(key);
        assertThat(lease.pick(key)).as("one key always sees one version").isSameAs(m);
        toCanary += m.version() == 2 ? 1 : 0;
      }
      assertThat(toCanary).isBetween(2_300, 2_700);
      assertThat(lease.pick(null).version()).isEqualTo(1);
    }
    slot.update(List.of(v1, announce(2, ModelStatus.ACTIVE, "{\"v\": 2}")));
    try (var lease = slot.begin()) {
      assertThat(lease.model().version()).isEqualTo(2);
      assertThat(lease.canary()).as("promoted: no canary any more").isNull();
    }
    assertThat(canary.closed).isTrue();
    assertThat(slot.canaryVersion()).isZero();
  }

  @Test
  void countsRecordsPerVersion() throws Exception {
    ModelSlot<Engine> slot = slot(0.5, 0);
    slot.startOn("m", 1, new Engine(1));
    slot.update(
        List.of(
            announce(1, ModelStatus.ACTIVE, "{\"v\": 1}"),
            announce(2, ModelStatus.CANDIDATE, "{\"v\": 2}")));
    try (var lease = slot.begin()) {
      lease.served(lease.model(), 3);
      lease.served(lease.canary(), 2);
      lease.served(lease.model(), 1);
    }
    assertThat(metrics.recordsOutByVersionCount("m", 1)).isEqualTo(4);
    assertThat(metrics.recordsOutByVersionCount("m", 2)).isEqualTo(2);
  }

  @Test
  void aVersionNotLoadedIsRetriableUntilLoadedInTheBackgroundAndMissingOnceTheCatalogIsCurrent()
      throws Exception {
    ModelSlot<Engine> slot = slot(0, 2);
    slot.startOn("m", 1, new Engine(1));
    ModelVersion v1 = announce(1, ModelStatus.ACTIVE, "{\"v\": 1}");
    ModelVersion v2 = announce(2, ModelStatus.RETIRED, "{\"v\": 2}");
    ModelVersion v3 = announce(3, ModelStatus.CANDIDATE, "{\"broken\": true}");
    try (var lease = slot.begin()) {
      assertThat(lease.version(1)).isPresent();
      assertThatThrownBy(() -> lease.version(2))
          .isInstanceOf(RetriableException.class)
          .hasMessageContaining("m:2");
      assertThatThrownBy(() -> lease.version(3)).isInstanceOf(RetriableException.class);
      assertThatThrownBy(() -> lease.version(9)).isInstanceOf(RetriableException.class);
    }
    slot.update(List.of(v1, v2, v3));
    try (var lease = slot.begin()) {
      assertThat(lease.version(2).orElseThrow().get().version).isEqualTo(2);
      assertThatThrownBy(() -> lease.version(3))
          .isInstanceOf(PoisonRecordException.class)
          .hasMessageContaining("cannot be loaded");
      // The catalog read in this update may have started before 9 was asked for: not conclusive
      // yet.
      assertThatThrownBy(() -> lease.version(9)).isInstanceOf(RetriableException.class);
    }
    slot.update(List.of(v1, v2, v3));
    try (var lease = slot.begin()) {
      assertThat(lease.version(9))
          .as("read to its end after it was asked for: it does not exist")
          .isEmpty();
    }
    assertThat(slot.loaded()).containsExactly("m:1", "m:2");
  }

  @Test
  void closingTheSlotWaitsForTheBatchStillRunning() {
    ModelSlot<Engine> slot = slot(0, 0);
    Engine v1 = new Engine(1);
    slot.startOn("m", 1, v1);
    ModelSlot.Lease<Engine> lease = slot.begin();
    slot.close();
    assertThat(v1.closed).isFalse();
    lease.close();
    assertThat(v1.closed).isTrue();
  }

  @Test
  void batchesNeverWaitForALoadAndTheServingThreadNeverLoads() throws Exception {
    java.util.concurrent.CountDownLatch loading = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    List<Thread> loadedOn = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<String> fetchedOn = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Integer> nice = new java.util.concurrent.CopyOnWriteArrayList<>();
    ModelSlot<Engine> slot =
        new ModelSlot<>(
            new ModelSlot.Settings("m", ModelKind.ENCODER, 0, 0),
            v -> {
              fetchedOn.add(Thread.currentThread().getName());
              nice.add(java.util.Objects.requireNonNullElse(LowPriority.niceOfThisThread(), -99));
              return artifacts.get(v.getVersion());
            },
            tmp.resolve("cache"),
            (dir, v) -> {
              loadedOn.add(Thread.currentThread());
              nice.add(java.util.Objects.requireNonNullElse(LowPriority.niceOfThisThread(), -99));
              loading.countDown();
              release.await(); // a slow load, warm-up and self-check
              return new Engine(v.getVersion());
            },
            metrics);
    slot.startOn("m", 1, new Engine(1));
    ModelVersion v2 = announce(2, ModelStatus.ACTIVE, "{\"v\": 2}");
    Thread feed = new Thread(() -> slot.update(List.of(v2)), "model-feed");
    feed.start();
    loading.await();
    // While version 2 loads, batches start and end on version 1 without waiting for the load (a
    // batch blocked on the slot's lock would never get here: the load waits for the test).
    java.util.concurrent.ExecutorService serving =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<List<Integer>> batches =
          serving.submit(
              () -> {
                List<Integer> versions = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                  try (ModelSlot.Lease<Engine> lease = slot.begin()) {
                    versions.add(lease.model().version());
                  }
                }
                return versions;
              });
      assertThat(batches.get(10, java.util.concurrent.TimeUnit.SECONDS)).containsExactly(1, 1, 1);
      release.countDown();
      feed.join();
      assertThat(serving.submit(() -> slot.begin().model().version()).get()).isEqualTo(2);
    } finally {
      release.countDown();
      serving.shutdownNow();
    }
    assertThat(loadedOn).containsExactly(feed);
    // The fetch ran on a thread of its own at a lower priority (where the OS lets us read it); the
    // engine is opened at the feed's priority, so its thread pools do not inherit the lower one.
    assertThat(fetchedOn).containsExactly("model-fetch");
    Integer mine = LowPriority.niceOfThisThread();
    if (mine != null) {
      assertThat(nice).containsExactly(Math.max(mine, LowPriority.NICE), mine);
    }
  }

  @Test
  void twoSlotsSharingACacheFetchAVersionOnce() throws Exception {
    ModelVersion v2 = announce(2, ModelStatus.ACTIVE, "{\"v\": 2}");
    java.util.concurrent.atomic.AtomicInteger fetches =
        new java.util.concurrent.atomic.AtomicInteger();
    List<ModelSlot<Engine>> slots = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ModelSlot<Engine> s =
          new ModelSlot<>(
              new ModelSlot.Settings("m", ModelKind.ENCODER, 0, 0),
              v -> {
                fetches.incrementAndGet();
                Thread.sleep(300); // a slow fetch: the other slot asks meanwhile
                return artifacts.get(v.getVersion());
              },
              tmp.resolve("cache"),
              (dir, v) -> new Engine(v.getVersion()),
              metrics);
      s.startOn("m", 1, new Engine(1));
      slots.add(s);
    }
    List<Thread> feeds = new ArrayList<>();
    for (ModelSlot<Engine> s : slots) {
      Thread t = new Thread(() -> s.update(List.of(v2)));
      t.start();
      feeds.add(t);
    }
    for (Thread t : feeds) {
      t.join(20_000);
    }
    assertThat(fetches.get()).as("the second slot used the first one's unpacked copy").isEqualTo(1);
    for (ModelSlot<Engine> s : slots) {
      try (ModelSlot.Lease<Engine> lease = s.begin()) {
        assertThat(lease.model().version()).isEqualTo(2);
      }
      s.close();
    }
  }
}
