package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.embedded.EmbeddedKafkaCluster;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsRunner;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own proof of exactly-once ({@code tests/kafkatest/tests/core/transactions_test.py}:
 * bounce brokers and clients, then every input exactly once in the output) on our pipeline: images
 * through {@code image-ingest}, the ingest gate (Kafka Streams, exactly_once_v2) and three encode
 * workers in their own JVMs, on a three-broker KRaft cluster (replication 3, min ISR 2), while
 * brokers are SIGKILLed and restarted, workers are {@code kill -9}ed and restarted, and a fourth
 * worker joins and leaves. Afterwards a read_committed read of {@code tokens} must hold exactly one
 * token record per image id, in the order sent for keys sent several times. Prints the recovery
 * time after each fault. {@code -Psoak} runs 100,000 images instead of 10,000.
 */
@Tag("integration")
class ChaosIT {
  private static final int IMAGES = Integer.getInteger("softstream.chaos.images", 10_000);
  // Keys sent several times in a row: their token records must come out in the same order.
  private static final int ORDERED_KEYS = 20;
  private static final int ORDERED_REPEATS = 5;

  @TempDir Path dir;

  record Fault(String what, long atNanos) {}

  record Arrival(int partition, long atNanos) {}

  @Test
  void everyImageExactlyOnceWhileBrokersAndWorkersAreKilled() throws Exception {
    long t0 = System.nanoTime();
    TopicLayout layout = TopicLayout.defaults().withReplication(3);
    List<ImageEvent> events = events();
    try (EmbeddedPlatform platform = EmbeddedPlatform.startCluster(dir, 3, 0, layout)) {
      EmbeddedKafkaCluster cluster = platform.cluster();
      System.out.printf(
          "chaos: cluster of 3 at %s ready after %.1f s%n",
          platform.bootstrapServers(), (System.nanoTime() - t0) / 1e9);
      StreamsRunner gate = EncodePipeline.startGate(platform, dir.resolve("streams"));
      Map<String, WorkerProcess> workers = new LinkedHashMap<>();
      for (String id : List.of("w1", "w2", "w3", "w4")) {
        workers.put(id, EncodePipeline.worker(id, platform, dir.resolve("logs")));
      }
      for (String id : List.of("w1", "w2", "w3")) {
        workers.get(id).start();
      }
      // As Kubernetes restarts a pod whose start-up failed: on a loaded machine, or with a broker
      // down, a worker's 10 s start-up check can time out.
      AtomicBoolean supervising = new AtomicBoolean(true);
      Thread supervisor =
          new Thread(
              () -> {
                while (supervising.get()) {
                  try {
                    for (WorkerProcess w : workers.values()) {
                      synchronized (w) {
                        w.restartIfStartupFailed();
                      }
                    }
                    Thread.sleep(500);
                  } catch (Exception e) {
                    return;
                  }
                }
              },
              "supervisor");
      supervisor.setDaemon(true);
      supervisor.start();

      ConcurrentLinkedQueue<Arrival> arrivals = new ConcurrentLinkedQueue<>();
      Set<String> seen = ConcurrentHashMap.newKeySet();
      AtomicBoolean watching = new AtomicBoolean(true);
      Thread watcher =
          new Thread(() -> watchTokens(platform, layout, arrivals, seen, watching), "tokens");
      watcher.start();

      // Sent at a steady rate while the faults happen, so every fault hits a flowing pipeline.
      long produceNanos = Duration.ofSeconds(Math.max(60, IMAGES / 125)).toNanos();
      Thread producer = new Thread(() -> produce(platform, layout, events, produceNanos), "send");
      long sendStart = System.nanoTime();
      producer.start();

      List<Fault> faults = new ArrayList<>();
      long gap = produceNanos / 9;
      List<Runnable> schedule =
          List.of(
              () -> killBroker(cluster, 1, faults),
              () -> killWorker(workers.get("w1"), faults),
              () -> killBroker(cluster, 2, faults),
              () -> killWorker(workers.get("w2"), faults),
              () -> addWorker(workers.get("w4"), faults),
              () -> killBroker(cluster, 3, faults),
              () -> killWorker(workers.get("w3"), faults),
              () -> removeWorker(workers.get("w4"), faults));
      for (int i = 0; i < schedule.size(); i++) {
        sleepUntil(sendStart + gap * (i + 1));
        schedule.get(i).run();
      }
      producer.join();
      long sent = System.nanoTime();
      System.out.printf(
          "chaos: %d images sent in %.1f s%n", events.size(), (sent - sendStart) / 1e9);

      long deadline = System.nanoTime() + Duration.ofSeconds(480).toNanos();
      while (seen.size() < events.size() && System.nanoTime() < deadline) {
        Thread.sleep(1000);
        for (WorkerProcess w : List.of(workers.get("w1"), workers.get("w2"), workers.get("w3"))) {
          synchronized (w) {
            assertThat(w.isAlive()).as("worker %s died:%n%s", w.id, w.logTail()).isTrue();
          }
        }
      }
      supervising.set(false);
      supervisor.join();
      int retries = workers.values().stream().mapToInt(WorkerProcess::startupRetries).sum();
      System.out.printf(
          "chaos: worker start-ups retried after a failed start-up check: %d%n", retries);
      System.out.printf(
          "chaos: %d of %d token records %.1f s after the last send%n",
          seen.size(), events.size(), (System.nanoTime() - sent) / 1e9);
      for (String id : List.of("w1", "w2", "w3")) {
        // A clean stop (exit 0) is asked of a worker that is up, not of one still starting.
        workers.get(id).awaitReady(Duration.ofSeconds(180));
        assertThat(workers.get(id).stop()).as(workers.get(id).logTail()).isZero();
      }
      watching.set(false);
      watcher.join();
      gate.close();

      printRecovery(faults, arrivals);
      verifyExactlyOnce(platform, layout, events, faults.size());
    }
    System.out.printf("chaos: wall %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  /** IMAGES events: most under their own key, ORDERED_KEYS keys sent ORDERED_REPEATS times. */
  private static List<ImageEvent> events() {
    List<byte[]> pictures =
        SampleImages.fashionMnist(64).stream().map(SampleImages.Sample::bytes).toList();
    List<ImageEvent> out = new ArrayList<>();
    int ordered = ORDERED_KEYS * ORDERED_REPEATS;
    int stride = IMAGES / ordered;
    for (int i = 0; i < IMAGES; i++) {
      // Every stride-th image repeats a key; the repeats of one key are spread over the run, so
      // faults fall between them.
      int n = i / stride;
      String id =
          i % stride == 0 && n < ordered
              ? "o" + (n % ORDERED_KEYS) + "-" + (n / ORDERED_KEYS)
              : "i" + i;
      out.add(
          ImageEvent.newBuilder()
              .setId(id)
              .setSource("chaos")
              .setContentType("image/png")
              .setImageBytes(ByteBuffer.wrap(pictures.get(i % pictures.size())))
              .setEventTime(Instant.now())
              .build());
    }
    return out;
  }

  private static String keyOf(String id) {
    return id.startsWith("o") ? id.substring(0, id.indexOf('-')) : id;
  }

  private static void produce(
      EmbeddedPlatform platform, TopicLayout layout, List<ImageEvent> events, long overNanos) {
    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    p.put("linger.ms", 5);
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(p);
        KafkaProducer<String, ImageEvent> producer =
            new KafkaProducer<>(
                p, new StringSerializer(), new AvroSerializer<>(registry, p, false))) {
      long start = System.nanoTime();
      for (int i = 0; i < events.size(); i++) {
        sleepUntil(start + overNanos * i / events.size());
        ImageEvent e = events.get(i);
        producer.send(new ProducerRecord<>(layout.ingest(), keyOf(e.getId()), e));
      }
      producer.flush();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Records when each token record became visible to a read_committed reader. */
  private static void watchTokens(
      EmbeddedPlatform platform,
      TopicLayout layout,
      ConcurrentLinkedQueue<Arrival> arrivals,
      Set<String> seen,
      AtomicBoolean watching) {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaConsumer<String, TokenRecord> c = tokenReader(platform, layout, registry)) {
      while (watching.get()) {
        for (ConsumerRecord<String, TokenRecord> r : c.poll(Duration.ofMillis(200))) {
          arrivals.add(new Arrival(r.partition(), System.nanoTime()));
          seen.add(r.value().getImageId());
        }
      }
    }
  }

  private static KafkaConsumer<String, TokenRecord> tokenReader(
      EmbeddedPlatform platform, TopicLayout layout, SchemaRegistryClient registry) {
    return EncodePipeline.reader(
        platform, new AvroDeserializer<>(registry, TokenRecord.class), layout.tokens());
  }

  /** After the run: read_committed from the start; one record per image id, order per key kept. */
  private static void verifyExactlyOnce(
      EmbeddedPlatform platform, TopicLayout layout, List<ImageEvent> events, int faults) {
    Map<String, Integer> count = new HashMap<>();
    Map<String, List<String>> byKey = new TreeMap<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaConsumer<String, TokenRecord> c = tokenReader(platform, layout, registry)) {
      Map<TopicPartition, Long> end = c.endOffsets(c.assignment());
      while (end.entrySet().stream().anyMatch(e -> c.position(e.getKey()) < e.getValue())) {
        for (ConsumerRecord<String, TokenRecord> r : c.poll(Duration.ofMillis(500))) {
          String id = r.value().getImageId();
          count.merge(id, 1, Integer::sum);
          if (id.startsWith("o")) {
            byKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(id);
          }
        }
      }
    }
    Set<String> sent = events.stream().map(ImageEvent::getId).collect(Collectors.toSet());
    EncodePipeline.Tally tally = EncodePipeline.Tally.of(sent, count);
    System.out.printf(
        "chaos: images %d, faults injected %d, token records %d, lost %d, duplicated %d, unknown %d%n",
        events.size(),
        faults,
        count.values().stream().mapToInt(Integer::intValue).sum(),
        tally.lost(),
        tally.duplicated(),
        tally.unknown());
    assertThat(count.keySet()).isEqualTo(sent);
    assertThat(count.values()).allMatch(n -> n == 1);
    assertThat(byKey).hasSize(ORDERED_KEYS);
    byKey.forEach(
        (key, ids) ->
            assertThat(ids)
                .as("order of key %s", key)
                .isEqualTo(
                    IntStream.range(0, ORDERED_REPEATS).mapToObj(n -> key + "-" + n).toList()));
  }

  /**
   * Recovery after a fault: until the first token record after it, and until every partition that
   * still had work delivered again (a killed worker's partitions wait for its session to expire).
   */
  private static void printRecovery(List<Fault> faults, ConcurrentLinkedQueue<Arrival> arrivals) {
    List<Arrival> all = new ArrayList<>(arrivals);
    for (Fault f : faults) {
      Map<Integer, Long> firstPerPartition = new TreeMap<>();
      long first = Long.MAX_VALUE;
      for (Arrival a : all) {
        if (a.atNanos() > f.atNanos()) {
          first = Math.min(first, a.atNanos());
          firstPerPartition.merge(a.partition(), a.atNanos(), Math::min);
        }
      }
      long allFlowing =
          firstPerPartition.values().stream().mapToLong(Long::longValue).max().orElse(0);
      System.out.printf(
          "chaos: recovery after %-28s first token +%5d ms, all %d partitions flowing +%5d ms%n",
          f.what(),
          first == Long.MAX_VALUE ? -1 : (first - f.atNanos()) / 1_000_000,
          firstPerPartition.size(),
          allFlowing == 0 ? -1 : (allFlowing - f.atNanos()) / 1_000_000);
    }
  }

  private static void killBroker(EmbeddedKafkaCluster cluster, int node, List<Fault> faults) {
    long pid = cluster.pid(node);
    faults.add(new Fault("SIGKILL broker " + node, System.nanoTime()));
    cluster.kill(node);
    // Down long enough for the controller to fence it and move its leaders (session 6 s).
    sleep(Duration.ofSeconds(7));
    long t = System.nanoTime();
    cluster.restart(node);
    System.out.printf(
        "chaos: broker %d (pid %d) SIGKILLed, restarted in %.1f s%n",
        node, pid, (System.nanoTime() - t) / 1e9);
  }

  private static void killWorker(WorkerProcess w, List<Fault> faults) {
    synchronized (w) {
      killWorkerNow(w, faults);
    }
  }

  private static void killWorkerNow(WorkerProcess w, List<Fault> faults) {
    try {
      long pid = w.pid();
      faults.add(new Fault("kill -9 worker " + w.id, System.nanoTime()));
      w.kill9();
      w.start();
      System.out.printf(
          "chaos: worker %s (pid %d) kill -9, restarted as pid %d%n", w.id, pid, w.pid());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void addWorker(WorkerProcess w, List<Fault> faults) {
    try {
      faults.add(new Fault("worker " + w.id + " added", System.nanoTime()));
      w.start();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void removeWorker(WorkerProcess w, List<Fault> faults) {
    try {
      // Scale-in of a worker that had joined: on a busy machine it may still be starting.
      w.awaitReady(Duration.ofSeconds(120));
      faults.add(new Fault("worker " + w.id + " removed", System.nanoTime()));
      int code = w.stop();
      System.out.printf("chaos: worker %s stopped (SIGTERM), exit %d%n", w.id, code);
      assertThat(code).as(w.logTail()).isZero();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void sleepUntil(long nanos) {
    long wait = nanos - System.nanoTime();
    if (wait > 0) {
      sleep(Duration.ofNanos(wait));
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis(), (int) (d.toNanos() % 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
