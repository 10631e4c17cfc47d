package io.softstream.worker.internals;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.worker.internals.TransactionalLoop.BatchProcessor;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The loop on Kafka's MockConsumer and MockProducer with a fake clock: every state is awaited (the
 * loop runs on its own thread), nothing is timed.
 */
class TransactionalLoopTest {
  private static final TopicPartition IN = new TopicPartition("images", 0);

  private final FakeClock clock = new FakeClock();
  private final LogConsumer consumer = new LogConsumer();
  private final List<MockProducer<byte[], byte[]>> producers = new CopyOnWriteArrayList<>();
  private final DeadLetters deadLetters =
      new DeadLetters(
          "dead-letters", "w1", (topic, dl) -> dl.toString().getBytes(UTF_8), clock, 1 << 20);
  private final WorkerMetrics metrics = new WorkerMetrics("encode", "w1");
  private final AtomicReference<Throwable> died = new AtomicReference<>();
  private Supplier<MockProducer<byte[], byte[]>> producerFactory = TransactionalLoopTest::producer;
  private Clock loopClock = clock;
  private TransactionalLoop loop;
  private Thread runner;
  private long nextOffset;

  @AfterEach
  void stop() throws InterruptedException {
    if (loop != null) {
      loop.close();
      runner.join(20_000);
    }
    metrics.close();
  }

  @Test
  void aBatchIsCommittedInOneTransactionWithItsOffsets() {
    start(3, new Echo());
    add("a", "b", "c");
    await(() -> committed().size() == 3);

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount()).isEqualTo(1);
    assertThat(values(p.history())).containsExactly("a", "b", "c");
    assertThat(p.consumerGroupOffsetsHistory())
        .as("one offset commit, in the same transaction")
        .hasSize(1);
    assertThat(committedOffsets(p, 0)).isEqualTo(Map.of(IN, 3L));
  }

  @Test
  void aFailedCommitIsAbortedAndTheBatchRetriedWithoutDuplicates() {
    producerFactory =
        () -> {
          MockProducer<byte[], byte[]> p = producer();
          if (producers.isEmpty()) {
            p.commitTransactionException = new TimeoutException("commit timed out");
          }
          return p;
        };
    start(3, new Echo());
    add("a", "b", "c");
    awaitTicking(() -> committed().size() == 3);

    assertThat(producers.get(0).closed())
        .as("the producer with the failed transaction is replaced")
        .isTrue();
    assertThat(producers.get(0).history()).isEmpty();
    assertThat(producers.get(1).commitCount()).isEqualTo(1);
    assertThat(values(committed())).containsExactly("a", "b", "c");
    assertThat(metrics.retryCount()).isEqualTo(1);
  }

  @Test
  void aCommitThatFailedButWasWrittenIsNotProducedTwice() {
    producerFactory =
        () ->
            producers.isEmpty()
                ? new MockProducer<>(
                    true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
                  @Override
                  public void commitTransaction() {
                    // The broker writes the commit, the answer is lost: the group's offsets move on
                    // all the same.
                    Map<TopicPartition, OffsetAndMetadata> offsets =
                        uncommittedOffsets().values().iterator().next();
                    super.commitTransaction();
                    consumer.commitSync(offsets);
                    throw new TimeoutException(
                        "Timeout expired after 60000ms while awaiting EndTxn");
                  }
                }
                : producer();
    start(3, new Echo());
    add("a", "b", "c");
    awaitTicking(() -> producers.size() == 2 && metrics.retryCount() == 1);
    add("d");
    clock.advance(Duration.ofMillis(50));
    awaitTicking(() -> committed().size() >= 4);

    assertThat(values(committed())).containsExactly("a", "b", "c", "d");
    assertThat(committedOffsets(producers.get(1), 0)).isEqualTo(Map.of(IN, 4L));
  }

  @Test
  void aProducerFencedAgainAndAgainStopsTheLoopWithAClearError() {
    producerFactory =
        () ->
            producers.isEmpty()
                ? producer()
                : new MockProducer<>(
                    true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
                  @Override
                  public void initTransactions() {
                    super.initTransactions();
                    fenceProducer(); // another live worker with our transactional.id registers
                    // right after us
                  }
                };
    start(3, new Echo());
    add("a", "b", "c");
    await(() -> committed().size() == 3);
    producers.get(0).fenceProducer();
    add("d", "e", "f");
    awaitTicking(() -> died.get() != null);

    assertThat(died.get())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Worker w1 was fenced 3 times")
        .hasMessageContaining("another live worker uses the same transactional.id")
        .hasMessageContaining("not committed")
        .hasMessageContaining("this worker stops");
    assertThat(values(committed())).containsExactly("a", "b", "c");
    assertThat(producers).allMatch(MockProducer::closed);
    assertThat(consumer.closed()).isTrue();
  }

  @Test
  void aPoisonRecordBecomesOneDeadLetterInTheSameTransactionAsTheGoodOutputs() {
    start(3, new Echo());
    add("a", "poison", "c");
    await(() -> committed().size() == 3);
    await(() -> metrics.deadLetterCount() == 1); // the metrics follow the commit

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount()).isEqualTo(1);
    assertThat(p.history())
        .extracting(ProducerRecord::topic)
        .containsExactly("tokens", "dead-letters", "tokens");
    ProducerRecord<byte[], byte[]> dl = p.history().get(1);
    assertThat(new String(dl.headers().lastHeader("error_class").value(), UTF_8))
        .isEqualTo("UndecodableImage");
    assertThat(new String(dl.value(), UTF_8)).contains("not an image");
    assertThat(p.consumerGroupOffsetsHistory()).hasSize(1);
    assertThat(committedOffsets(p, 0)).isEqualTo(Map.of(IN, 3L));
    assertThat(metrics.deadLetterCount()).isEqualTo(1);
  }

  @Test
  void anOutputTheBrokerRefusesAsTooLargeDeadLettersItsSourceAndTheRestCommits() {
    producerFactory = RefusingProducer::new;
    start(2, new Echo());
    add("a", "huge");
    await(() -> committed().size() == 2);

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount()).isEqualTo(1);
    assertThat(p.history())
        .extracting(ProducerRecord::topic)
        .containsExactlyInAnyOrder("tokens", "dead-letters");
    ProducerRecord<byte[], byte[]> dl =
        p.history().stream()
            .filter(r -> r.topic().equals("dead-letters"))
            .findFirst()
            .orElseThrow();
    assertThat(new String(dl.headers().lastHeader("error_class").value(), UTF_8))
        .isEqualTo("OutputRejected");
    assertThat(producers).hasSize(1);
  }

  @Test
  void aBacklogCommitsSeveralBatchesInOneTransactionUpToItsRecordBound() {
    add("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"); // all ten come in one poll
    startGrouped(2, 6);
    await(() -> committed().size() == 10);

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount())
        .as("batches of 2 in transactions of at most 6 records")
        .isEqualTo(2);
    assertThat(values(p.history()))
        .containsExactly("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
    assertThat(committedOffsets(p, 0)).isEqualTo(Map.of(IN, 6L));
    assertThat(committedOffsets(p, 1)).isEqualTo(Map.of(IN, 10L));
  }

  @Test
  void aTransactionTakesNoFurtherBatchOnceItsWaitHasPassed() {
    // Every reading of this clock is a minute later than the last: the 100 ms wait has always
    // passed.
    loopClock = clock.advancingOnEachRead(Duration.ofMinutes(1));
    add("a", "b", "c", "d", "e", "f");
    startGrouped(2, 6);
    await(() -> committed().size() == 6);

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount()).as("one batch per transaction").isEqualTo(3);
    assertThat(committedOffsets(p, 0)).isEqualTo(Map.of(IN, 2L));
    assertThat(committedOffsets(p, 2)).isEqualTo(Map.of(IN, 6L));
  }

  @Test
  void aFailedTransactionOfSeveralBatchesIsReReadWholeWithoutDuplicates() {
    producerFactory =
        () -> {
          MockProducer<byte[], byte[]> p = producer();
          if (producers.isEmpty()) {
            p.commitTransactionException = new TimeoutException("commit timed out");
          }
          return p;
        };
    add("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
    startGrouped(2, 6);
    awaitTicking(() -> committed().size() == 10);

    assertThat(producers.get(0).closed()).isTrue();
    assertThat(producers.get(0).history()).isEmpty();
    assertThat(values(committed()))
        .as("the failed transaction's three batches are re-read and committed once")
        .containsExactly("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
    MockProducer<byte[], byte[]> p = producers.get(1);
    assertThat(committedOffsets(p, (int) p.commitCount() - 1)).isEqualTo(Map.of(IN, 10L));
    assertThat(metrics.retryCount()).isEqualTo(1);
  }

  @Test
  void aLoneRecordWaitsForTheLingerOnTheInjectedClock() throws InterruptedException {
    start(8, new Echo());
    add("a", "b");
    await(() -> metrics.recordsInCount() == 2);
    CountDownLatch polledAgain = new CountDownLatch(2);
    consumer.schedulePollTask(polledAgain::countDown);
    consumer.schedulePollTask(polledAgain::countDown);
    assertThat(polledAgain.await(20, TimeUnit.SECONDS)).isTrue();
    assertThat(producers.get(0).commitCount())
        .as("nothing committed while the clock stands still")
        .isZero();

    clock.advance(Duration.ofMillis(50));
    await(() -> committed().size() == 2);
    assertThat(producers.get(0).commitCount()).isEqualTo(1);
  }

  @Test
  void aRegistryOutageBacksOffAndRetriesTheBatchOnce() {
    AtomicInteger calls = new AtomicInteger();
    start(
        2,
        new Echo() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            if (calls.getAndIncrement() == 0) {
              throw new TimeoutException("schema registry answered 503");
            }
            return super.process(batch);
          }
        });
    add("a", "b");
    awaitTicking(() -> committed().size() == 2);

    assertThat(values(committed())).containsExactly("a", "b");
    assertThat(metrics.retryCount()).isEqualTo(1);
    assertThat(metrics.deadLetterCount()).isZero();
  }

  @Test
  void aRegistryThatRefusesTheWorkerDeadLettersNothingAndStopsItAfterTheBound() {
    start(
        2,
        Duration.ofSeconds(2),
        new Echo() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            throw new AuthenticationException("schema registry answered 401");
          }
        });
    add("a", "b");
    awaitTicking(() -> died.get() != null);

    assertThat(died.get())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("without committing a batch (failure.max.duration.ms = 2000)")
        .hasMessageContaining("AuthenticationException: schema registry answered 401")
        .hasMessageContaining("stay uncommitted for a healthy worker; this worker stops");
    assertThat(committed()).isEmpty();
    assertThat(metrics.deadLetterCount()).isZero();
    assertThat(metrics.retryCount()).isGreaterThan(1);
  }

  @Test
  void anEngineFaultForSeveralBatchesDeadLettersNothingButThePoisonRecord() {
    AtomicInteger faults = new AtomicInteger(12);
    start(
        4,
        new Echo() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            // Bad records are found while decoding, before the engine runs (as in EncodeWorker).
            List<Output> out = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : batch) {
              if (new String(r.value(), UTF_8).equals("poison")) {
                out.add(new Output(r, deadLetters.of(r, "UndecodableImage", "x"), true, -1));
              }
            }
            if (out.size() < batch.size() && faults.getAndDecrement() > 0) {
              throw new IllegalStateException("engine fault: CUDA error");
            }
            for (ConsumerRecord<byte[], byte[]> r : batch) {
              if (!new String(r.value(), UTF_8).equals("poison")) {
                out.add(
                    new Output(r, new ProducerRecord<>("tokens", r.key(), r.value()), false, -1));
              }
            }
            return out;
          }
        });
    add("a", "b", "poison", "c");
    // The metrics follow the commit: await them too.
    awaitTicking(() -> committed().size() == 4 && loop.problem() == null);
    await(() -> metrics.deadLetterCount() == 1);

    assertThat(values(tokens())).containsExactlyInAnyOrder("a", "b", "c");
    assertThat(committed()).filteredOn(r -> r.topic().equals("dead-letters")).hasSize(1);
    assertThat(metrics.deadLetterCount()).isEqualTo(1);
    assertThat(metrics.retryCount()).isGreaterThanOrEqualTo(3);
    assertThat(loop.problem()).isNull();
    assertThat(died.get()).isNull();
  }

  @Test
  void aRecordThatFailsAloneWhileTheOthersAreProcessedIsADeadLetter() {
    start(
        3,
        new Echo() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            for (ConsumerRecord<byte[], byte[]> r : batch) {
              if (new String(r.value(), UTF_8).equals("odd")) {
                throw new IllegalArgumentException("bad shape");
              }
            }
            return super.process(batch);
          }
        });
    add("a", "odd", "b");
    awaitTicking(() -> committed().size() == 3);
    await(() -> metrics.deadLetterCount() == 1);

    assertThat(values(tokens())).containsExactly("a", "b");
    assertThat(metrics.deadLetterCount()).isEqualTo(1);
    assertThat(metrics.retryCount()).isZero();
  }

  private List<ProducerRecord<byte[], byte[]>> tokens() {
    return committed().stream().filter(r -> r.topic().equals("tokens")).toList();
  }

  /** Echoes each value to "tokens"; a record whose value is "poison" is one. */
  @Test
  void aProcessorThatJoinsWorkInFlightGetsTheNextBatchWhileTheFirstIsWorkedOn() {
    // The first batch's work ends only once the second was handed over (or after 10 s): the loop
    // must keep polling while it is in flight instead of waiting for its commit.
    CountDownLatch secondPrepared = new CountDownLatch(1);
    List<String> events = new CopyOnWriteArrayList<>();
    start(
        1,
        new BatchProcessor() {
          @Override
          public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
            return new Echo().process(batch);
          }

          @Override
          public TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
            String v = new String(batch.get(0).value(), UTF_8);
            events.add("prepare " + v);
            if (v.equals("b")) {
              secondPrepared.countDown();
            }
            return () -> {
              if (v.equals("a")) {
                events.add("working on a");
                try {
                  secondPrepared.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              }
              events.add("finish " + v);
              return new Echo().process(batch);
            };
          }

          @Override
          public boolean joinsWorkInFlight() {
            return true;
          }
        });
    add("a");
    await(() -> events.contains("working on a"));
    add("b");
    await(() -> committed().size() == 2);

    assertThat(events)
        .containsExactly("prepare a", "working on a", "prepare b", "finish a", "finish b");
    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.commitCount()).as("one transaction per batch, in order").isEqualTo(2);
    assertThat(values(p.history())).containsExactly("a", "b");
    assertThat(committedOffsets(p, 0)).isEqualTo(Map.of(IN, 1L));
    assertThat(committedOffsets(p, 1)).isEqualTo(Map.of(IN, 2L));
  }

  private static class Echo implements BatchProcessor {
    @Override
    public List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
      List<Output> out = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : batch) {
        if (new String(r.value(), UTF_8).equals("poison")) {
          throw new PoisonRecordException("UndecodableImage", "not an image");
        }
        out.add(new Output(r, new ProducerRecord<>("tokens", r.key(), r.value()), false, -1));
      }
      return out;
    }
  }

  /**
   * A MockConsumer over a log: MockConsumer forgets records once polled, so a seek back would find
   * nothing; this one offers every record at or after the position again, as a broker would.
   */
  private static final class LogConsumer extends MockConsumer<byte[], byte[]> {
    private final List<ConsumerRecord<byte[], byte[]>> log = new ArrayList<>();

    LogConsumer() {
      super("earliest");
    }

    synchronized void append(ConsumerRecord<byte[], byte[]> r) {
      log.add(r);
    }

    @Override
    public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
      for (TopicPartition tp : assignment()) {
        long position = position(tp);
        log.stream()
            .filter(r -> r.partition() == tp.partition() && r.offset() >= position)
            .forEach(this::addRecord);
      }
      return super.poll(timeout);
    }
  }

  /** Refuses an output whose value is "huge" as the broker would, failing the transaction. */
  private static final class RefusingProducer extends MockProducer<byte[], byte[]> {
    private boolean sendFailed;

    RefusingProducer() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<byte[], byte[]> record, Callback callback) {
      if (new String(record.value(), UTF_8).equals("huge")) {
        RecordTooLargeException e =
            new RecordTooLargeException("The message is 2097152 bytes when serialized");
        sendFailed = true;
        callback.onCompletion(null, e);
        return CompletableFuture.failedFuture(e);
      }
      return super.send(record, callback);
    }

    @Override
    public void commitTransaction() {
      if (sendFailed) {
        throw new KafkaException("Cannot commit: a send in this transaction failed");
      }
      super.commitTransaction();
    }

    @Override
    public void abortTransaction() {
      sendFailed = false;
      super.abortTransaction();
    }
  }

  private static MockProducer<byte[], byte[]> producer() {
    return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private void start(int maxRecords, BatchProcessor processor) {
    start(maxRecords, TransactionalLoop.Settings.DEFAULT_MAX_FAILURE_DURATION, processor);
  }

  private void start(int maxRecords, Duration maxFailure, BatchProcessor processor) {
    start(
        new TransactionalLoop.Settings(
            "w1", List.of(IN.topic()), maxRecords, Duration.ofMillis(50), maxFailure),
        processor);
  }

  /** Batches of {@code maxRecords}, transactions of up to {@code maxTxRecords} or 100 ms. */
  private void startGrouped(int maxRecords, int maxTxRecords) {
    start(
        new TransactionalLoop.Settings(
            "w1",
            List.of(IN.topic()),
            maxRecords,
            Duration.ofMillis(50),
            TransactionalLoop.Settings.DEFAULT_MAX_FAILURE_DURATION,
            maxTxRecords,
            Duration.ofMillis(100)),
        new Echo());
  }

  private void start(TransactionalLoop.Settings settings, BatchProcessor processor) {
    loop =
        new TransactionalLoop(
            settings,
            () -> consumer,
            () -> {
              MockProducer<byte[], byte[]> p = producerFactory.get();
              producers.add(p);
              return p;
            },
            processor,
            deadLetters,
            metrics,
            loopClock);
    consumer.schedulePollTask(
        () -> {
          consumer.rebalance(List.of(IN));
          consumer.updateBeginningOffsets(Map.of(IN, 0L));
        });
    runner =
        new Thread(
            () -> {
              try {
                loop.run();
              } catch (Throwable t) {
                died.set(t);
              }
            },
            "loop-test");
    runner.start();
  }

  /** Appends records to the input partition. */
  private void add(String... values) {
    for (String v : values) {
      consumer.append(
          new ConsumerRecord<>(
              IN.topic(),
              IN.partition(),
              nextOffset++,
              ("k-" + v).getBytes(UTF_8),
              v.getBytes(UTF_8)));
    }
  }

  /** Every record committed by any producer of this test. */
  private List<ProducerRecord<byte[], byte[]>> committed() {
    List<ProducerRecord<byte[], byte[]>> all = new ArrayList<>();
    producers.forEach(p -> all.addAll(p.history()));
    return all;
  }

  /** The offsets committed by {@code p}'s {@code i}-th transaction. */
  private static Map<TopicPartition, Long> committedOffsets(MockProducer<byte[], byte[]> p, int i) {
    Map<TopicPartition, Long> offsets = new HashMap<>();
    p.consumerGroupOffsetsHistory()
        .get(i)
        .values()
        .forEach(m -> m.forEach((tp, om) -> offsets.put(tp, om.offset())));
    return offsets;
  }

  private static List<String> values(List<ProducerRecord<byte[], byte[]>> records) {
    return records.stream().map(r -> new String(r.value(), UTF_8)).toList();
  }

  private void await(BooleanSupplier condition) {
    awaitWhile(condition, false);
  }

  /** Awaits {@code condition} while moving the clock on, so back-off delays pass. */
  private void awaitTicking(BooleanSupplier condition) {
    awaitWhile(condition, true);
  }

  private void awaitWhile(BooleanSupplier condition, boolean tick) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime())
          .as("condition not reached; loop died with %s", died.get())
          .isLessThan(deadline);
      if (tick) {
        clock.advance(Duration.ofMillis(10));
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
