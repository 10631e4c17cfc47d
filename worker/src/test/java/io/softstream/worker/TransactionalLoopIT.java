package io.softstream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.internals.DeadLetters;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.TransactionalLoop.Output;
import io.softstream.worker.internals.WorkerMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The loop's two processor stages on a real broker: they run on their own threads and overlap,
 * nothing lost or doubled.
 */
class TransactionalLoopIT extends WorkerIT {

  @Test
  void prepareOfTheNextBatchOverlapsTheCurrentBatchAndEveryRecordIsCommittedOnce()
      throws Exception {
    TopicLayout t = freshTopics();
    int n = 200;
    for (int i = 0; i < n; i++) {
      produceRaw(t.images(), "k" + i, ("v" + i).getBytes());
    }
    WorkerConfig config = new WorkerConfig(workerProps(t, "loop-it"));
    Set<String> prepareThreads = ConcurrentHashMap.newKeySet();
    Set<String> finishThreads = ConcurrentHashMap.newKeySet();
    AtomicInteger prepares = new AtomicInteger();
    CountDownLatch secondPrepare = new CountDownLatch(1);
    AtomicBoolean overlapped = new AtomicBoolean();
    TransactionalLoop.BatchProcessor processor =
        new TransactionalLoop.BatchProcessor() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            return prepare(batch).finish();
          }

          @Override
          public TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
            prepareThreads.add(Thread.currentThread().getName());
            int k = prepares.incrementAndGet();
            if (k == 2) {
              secondPrepare.countDown();
            }
            List<Output> out = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : batch) {
              out.add(
                  new Output(r, new ProducerRecord<>(t.tokens(), r.key(), r.value()), false, -1));
            }
            return () -> {
              finishThreads.add(Thread.currentThread().getName());
              if (k == 1) {
                // The first batch finishes only once the second one is being prepared: without the
                // overlap this waits in vain.
                try {
                  overlapped.set(secondPrepare.await(20, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
              return out;
            };
          }
        };
    try (SchemaRegistryClient registry =
        SchemaRegistryClients.create(platform.clientProperties())) {
      DeadLetters deadLetters =
          new DeadLetters(
              t.deadLetters(),
              "loop-it",
              new AvroSerializer<DeadLetter>(registry, platform.clientProperties(), false),
              Clock.systemUTC(),
              1 << 20);
      Map<String, Object> consumer = new HashMap<>(config.consumerConfig("encode"));
      consumer.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, n);
      TransactionalLoop loop =
          new TransactionalLoop(
              new TransactionalLoop.Settings(
                  "loop-it", List.of(t.images()), 8, Duration.ofMillis(50)),
              () ->
                  new KafkaConsumer<>(
                      consumer, new ByteArrayDeserializer(), new ByteArrayDeserializer()),
              () ->
                  new KafkaProducer<>(
                      config.producerConfig("encode"),
                      new ByteArraySerializer(),
                      new ByteArraySerializer()),
              processor,
              deadLetters,
              new WorkerMetrics("encode", "loop-it"),
              Clock.systemUTC());
      Thread runner = new Thread(loop, "loop-it");
      runner.start();
      List<String> values = readCommittedValues(t.tokens(), n, Duration.ofSeconds(60));
      loop.close();
      runner.join(20_000);

      assertEquals(n, values.size(), "every record committed once");
      assertEquals(n, new HashSet<>(values).size(), "no duplicates");
      assertTrue(
          overlapped.get(),
          "the second batch was prepared while the first was still being finished");
      assertEquals(Set.of("loop-it-prepare"), prepareThreads);
      assertEquals(Set.of("loop-it-compute"), finishThreads);
    }
  }

  private static List<String> readCommittedValues(String topic, int n, Duration timeout) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> out.add(new String(r.value())));
        if (out.size() >= n && quietUntil == Long.MAX_VALUE) {
          quietUntil =
              System.nanoTime()
                  + Duration.ofSeconds(2).toNanos(); // a little longer, to catch duplicates
        }
      }
    }
    return out;
  }
}
