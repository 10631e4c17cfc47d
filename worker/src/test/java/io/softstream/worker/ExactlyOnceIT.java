package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.topology.TopicLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * 3 workers, 6 partitions, 2,000 images; workers start, stop gracefully and crash (with a restart
 * on the same worker id) while images stream in. Every image must have exactly one committed token
 * record: none lost, none duplicated.
 */
class ExactlyOnceIT extends WorkerIT {

  @Test
  void everyImageGetsExactlyOneTokenRecordWhileWorkersComeAndGo() throws Exception {
    TopicLayout t = freshTopics();
    int total = 2000;
    List<ImageEvent> images = new ArrayList<>();
    byte[][] pngs = new byte[16][];
    for (int i = 0; i < pngs.length; i++) {
      pngs[i] = TestImages.random(8, 8, "png", i);
    }
    for (int i = 0; i < total; i++) {
      images.add(image("img-" + i, pngs[i % pngs.length], "image/png"));
    }
    ExecutorService feeder = Executors.newSingleThreadExecutor();
    Future<?> feeding =
        feeder.submit(
            () -> {
              for (int from = 0; from < total; from += 50) {
                produceImages(t.images(), images.subList(from, from + 50));
                Thread.sleep(300);
              }
              return null;
            });

    Map<String, EncodeWorker> workers = new HashMap<>();
    Map<String, Thread> threads = new HashMap<>();
    java.util.function.Consumer<String> start =
        id -> {
          Map<String, Object> p = workerProps(t, id);
          p.put(WorkerConfig.BATCH_MAX_RECORDS, 16);
          p.put(WorkerConfig.METRICS_PORT, -1);
          p.put(WorkerConfig.TRANSACTION_TIMEOUT_MS, 5000);
          EncodeWorker w = new EncodeWorker(new WorkerConfig(p));
          workers.put(id, w);
          threads.put(id, runInBackground(w));
        };

    start.accept("w1");
    start.accept("w2");
    awaitPartitions(workers, "w1", "w2");
    start.accept("w3"); // scale out while records flow
    awaitPartitions(workers, "w1", "w2", "w3");
    EncodeWorker first1 = workers.get("w1");
    first1.close(); // graceful stop: in-flight batch committed
    threads.get("w1").join(30_000);
    awaitPartitions(workers, "w2", "w3");
    EncodeWorker first2 = workers.get("w2");
    first2.kill(); // crash: open transaction left behind
    threads.get("w2").join(30_000);
    start.accept("w2"); // restart with the same id fences the old transaction
    start.accept("w1");
    assertThat(feeding.isDone())
        .as("the scenario ran while images were still streaming in")
        .isFalse();
    feeding.get();

    List<ConsumerRecord<String, TokenRecord>> tokens =
        readCommitted(t.tokens(), TokenRecord.class, total, Duration.ofSeconds(120));
    for (String id : List.of("w1", "w2", "w3")) {
      workers.get(id).close();
    }
    for (Thread th : threads.values()) {
      th.join(30_000);
    }
    feeder.shutdown();

    Map<String, Long> counts =
        tokens.stream().collect(Collectors.groupingBy(ConsumerRecord::key, Collectors.counting()));
    Set<String> expected = images.stream().map(ImageEvent::getId).collect(Collectors.toSet());
    assertThat(counts.keySet()).as("missing images").containsAll(expected);
    assertThat(
            counts.entrySet().stream()
                .filter(e -> e.getValue() > 1)
                .map(Map.Entry::getKey)
                .toList())
        .as("duplicated images")
        .isEmpty();
    assertThat(tokens).hasSize(total);
    // Lineage: every source offset of the images topic appears exactly once.
    assertThat(
            tokens.stream()
                .map(r -> r.value().getSourcePartition() + "@" + r.value().getSourceOffset())
                .distinct()
                .count())
        .isEqualTo(total);
    assertThat(readCommitted(t.deadLetters(), DeadLetter.class, 0, Duration.ofSeconds(1)))
        .isEmpty();
    assertThat(threads.values()).noneMatch(Thread::isAlive);
    assertThat(first1.metrics().recordsOutCount()).as("w1 before its graceful stop").isPositive();
    assertThat(first2.metrics().recordsInCount()).as("w2 before its crash").isPositive();
  }

  private static void awaitPartitions(Map<String, EncodeWorker> workers, String... ids)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (java.util.Arrays.stream(ids).allMatch(id -> !workers.get(id).assignment().isEmpty())) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "workers " + java.util.Arrays.toString(ids) + " did not all get partitions within 30 s");
  }
}
