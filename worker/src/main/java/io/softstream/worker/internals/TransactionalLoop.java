package io.softstream.worker.internals;

import io.softstream.worker.internals.FailureClassifier.Outcome;
import io.softstream.worker.internals.FailureClassifier.Where;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exactly-once consume–transform–produce loop shared by every worker, and the wiring of its
 * parts:
 *
 * <ul>
 *   <li>{@link Batcher} buffers records into micro-batches (up to {@code maxBatchRecords}, or
 *       whatever arrived within {@code maxBatchWait} of the first, by the injected clock);
 *   <li>{@link BatchPipeline} runs the processor's two stages on their own threads, ahead of the
 *       transaction being committed on the loop thread;
 *   <li>{@link TransactionStep} commits one or more consecutive batches (under a backlog, up to
 *       {@code maxTransactionRecords} collected within {@code maxTransactionWait}) as one Kafka
 *       transaction holding their outputs, their dead letters and their consumed offsets (with the
 *       group metadata, so a worker that lost its partitions cannot commit);
 *   <li>{@link FailureClassifier} says what each failure means: a poison record becomes a dead
 *       letter in the same transaction; a retriable failure aborts the transaction (re-creating the
 *       producer when its state is ambiguous), seeks back and backs off ({@link BackOff}); a
 *       systemic one (the worker or a dependency is broken) dead-letters nothing, seeks back and
 *       backs off too, and stops the loop with an exception once it has lasted {@link
 *       Settings#maxFailureDuration()}; a fatal one stops the loop with an exception at once;
 *   <li>{@link RebalanceListener} commits the buffered records of revoked partitions before they
 *       are given up, and drops those of lost ones.
 * </ul>
 *
 * <p>The last transaction's worth of batches of a poll is committed after the next poll, so the
 * engine keeps working across polls under a backlog. On a graceful {@link #close()} the in-flight
 * batch is finished and committed.
 */
public final class TransactionalLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(TransactionalLoop.class);
  private static final Duration IDLE_POLL = Duration.ofMillis(500);
  // How often the loop looks for records to join a batch in flight
  // (BatchProcessor.joinsWorkInFlight).
  private static final Duration BUSY_POLL = Duration.ofMillis(10);

  /** One record to produce, with the consumed record it came from. */
  public record Output(
      ConsumerRecord<byte[], byte[]> source,
      ProducerRecord<byte[], byte[]> record,
      boolean deadLetter,
      long eventTimeMillis) {}

  /** Turns a batch of consumed records into records to produce; see the class doc for failures. */
  public interface BatchProcessor {
    /**
     * @return at least one output per input record (a dead letter for a poison record)
     * @throws RetriableException to retry the whole batch later (e.g. the schema registry is down)
     */
    List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch);

    /**
     * {@link #process} in two stages: this one (parsing, image decoding) runs on the prepare
     * thread, so it overlaps the engine working on the previous batch; the returned stage runs on
     * the compute thread. Both stages may throw what {@code process} may throw. The default does
     * everything in the second stage.
     */
    default Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
      return () -> process(batch);
    }

    /**
     * Called on the loop thread between polls when no batch is pending (e.g. to switch models while
     * idle).
     */
    default void idle() {}

    /**
     * True if records that arrive while a batch is being worked on can join that work (the
     * generation worker's continuous batching): the loop then keeps polling meanwhile instead of
     * waiting for the batch to commit, and submits what arrives.
     */
    default boolean joinsWorkInFlight() {
      return false;
    }
  }

  /** The second stage of {@link BatchProcessor#prepare}. */
  public interface Prepared {
    List<Output> finish();
  }

  /**
   * Loop settings.
   *
   * @param maxFailureDuration how long the worker may fail systemically (an engine fault, the
   *     registry refusing it) without committing a batch before it stops, so that a healthy worker
   *     takes its partitions
   * @param maxTransactionRecords under a backlog one transaction holds several consecutive batches,
   *     up to this many records (at least one batch): the commit round trips, not the engine, are
   *     what limits a worker whose engine is fast
   * @param maxTransactionWait a transaction takes no further batch once this has passed since it
   *     started collecting them, which bounds what grouping adds to a record's latency
   */
  public record Settings(
      String workerId,
      Collection<String> topics,
      int maxBatchRecords,
      Duration maxBatchWait,
      Duration maxFailureDuration,
      int maxTransactionRecords,
      Duration maxTransactionWait) {
    public static final Duration DEFAULT_MAX_FAILURE_DURATION = Duration.ofMinutes(3);

    public Settings {
      maxTransactionRecords = Math.max(maxTransactionRecords, maxBatchRecords);
    }

    /** One batch per transaction. */
    public Settings(
        String workerId,
        Collection<String> topics,
        int maxBatchRecords,
        Duration maxBatchWait,
        Duration maxFailureDuration) {
      this(
          workerId,
          topics,
          maxBatchRecords,
          maxBatchWait,
          maxFailureDuration,
          maxBatchRecords,
          Duration.ZERO);
    }

    public Settings(
        String workerId, Collection<String> topics, int maxBatchRecords, Duration maxBatchWait) {
      this(workerId, topics, maxBatchRecords, maxBatchWait, DEFAULT_MAX_FAILURE_DURATION);
    }
  }

  // Failures in a row are logged once, then at most this often (the rest at debug).
  static final Duration WARN_EVERY = Duration.ofSeconds(30);

  private final Settings settings;
  private final Supplier<Consumer<byte[], byte[]>> consumerFactory;
  private final BatchProcessor processor;
  private final WorkerMetrics metrics;
  private final Clock clock;
  private final Batcher batcher;
  private final BackOff backOff;
  private final FailureClassifier classifier;
  private final TransactionStep transactions;
  private final DeadLetters deadLetters;

  private Consumer<byte[], byte[]> consumer;
  private BatchPipeline pipeline;
  // Batches submitted to the pipeline and not yet committed, in order. After a flush the last
  // (at most a transaction's worth) stay here and commit after the next poll (see flush).
  private final ArrayDeque<Chunk> inFlight = new ArrayDeque<>();
  // Set when a commit failed in a way that may have committed after all; the next rewind reads the
  // group's offsets.
  private boolean commitInDoubt;
  private volatile boolean running = true;
  private volatile boolean killed;
  private volatile boolean polling;
  private volatile Set<TopicPartition> assignment = Set.of();
  // Since when batches fail systemically without a commit in between, or -1.
  private long sickSince = -1;
  private long lastWarnMillis = Long.MIN_VALUE / 2;
  // Why the last batch could not be committed, until one is; for /health/ready.
  private volatile String problem;

  public TransactionalLoop(
      Settings settings,
      Supplier<Consumer<byte[], byte[]>> consumerFactory,
      Supplier<Producer<byte[], byte[]>> producerFactory,
      BatchProcessor processor,
      DeadLetters deadLetters,
      WorkerMetrics metrics,
      Clock clock) {
    this.settings = settings;
    this.consumerFactory = consumerFactory;
    this.processor = processor;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.clock = clock;
    this.batcher = new Batcher(settings.maxBatchRecords(), settings.maxBatchWait(), clock);
    this.backOff = new BackOff(BackOff.INITIAL, BackOff.MAX, clock);
    this.classifier = new FailureClassifier(clock);
    this.transactions = new TransactionStep(producerFactory, () -> killed);
  }

  /** True once subscribed and polling, until the loop ends. */
  public boolean isRunning() {
    return polling && running;
  }

  /** Why batches currently fail (until one commits), for readiness; null when they do not. */
  public String problem() {
    return problem;
  }

  /** The partitions this loop owned at its last poll. */
  public Set<TopicPartition> assignment() {
    return assignment;
  }

  /** Runs until {@link #close()} (returns normally) or a fatal error (throws). */
  @Override
  public void run() {
    consumer = consumerFactory.get();
    pipeline = new BatchPipeline(settings.workerId(), processor, deadLetters, classifier);
    try {
      transactions.open();
      consumer.subscribe(
          settings.topics(), new RebalanceListener(settings.workerId(), batcher, new Committer()));
      polling = true;
      while (running) {
        if (backOff.resumeDue()) {
          consumer.resume(consumer.paused());
        }
        if (batcher.isEmpty() && inFlight.isEmpty()) {
          processor.idle();
        }
        try {
          // With a batch pending, only take what has already been fetched: that batch commits right
          // after.
          var records =
              consumer.poll(
                  inFlight.isEmpty()
                      ? batcher.pollTimeout(IDLE_POLL)
                      : keepPolling()
                          ? min(batcher.pollTimeout(IDLE_POLL), BUSY_POLL)
                          : Duration.ZERO);
          if (killed) {
            return;
          }
          batcher.add(records);
          metrics.recordsIn(records.count());
          updateLag();
          assignment = Set.copyOf(consumer.assignment());
        } catch (WakeupException e) {
          if (killed) {
            return;
          }
          continue; // close() woke us: leave the loop with the batch still to finish
        }
        if (batcher.isDue()) {
          flush(batcher.take(), true);
        } else if (!keepPolling()) {
          commitPending();
        }
      }
      if (!killed) {
        if (!batcher.isEmpty()) {
          log.info(
              "Worker {} stopping: finishing the in-flight batch of {} records",
              settings.workerId(),
              batcher.size());
          flush(batcher.take(), false);
        }
        commitPending();
      }
    } finally {
      polling = false;
      assignment = Set.of();
      pipeline.close();
      closeClients(killed ? Duration.ZERO : Duration.ofSeconds(10));
    }
  }

  /** The pending batch is still being worked on and records arriving meanwhile may join it. */
  private boolean keepPolling() {
    return !inFlight.isEmpty()
        && !inFlight.peekLast().work().isDone()
        && processor.joinsWorkInFlight();
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** Graceful stop: finish and commit the in-flight batch, then close. Returns at once. */
  public void close() {
    running = false;
    if (consumer != null) {
      consumer.wakeup();
    }
  }

  /**
   * Crash simulation for tests: stop now, committing nothing more (an open transaction is left to
   * abort).
   */
  public void kill() {
    killed = true;
    close();
  }

  /** One batch submitted to the pipeline, and its outputs to come. */
  private record Chunk(List<ConsumerRecord<byte[], byte[]>> records, Future<List<Output>> work) {}

  /**
   * Commits {@code records}, split into batches of {@code maxBatchRecords}, in transactions of one
   * or more consecutive batches (see {@link #commitGroup}). The pipeline works up to a transaction
   * and a batch ahead of the commits, so the engine keeps working while a transaction commits (the
   * commit round trips would otherwise leave it idle). If a transaction cannot be committed, the
   * batches processed ahead are waited for and dropped, and everything from the failed transaction
   * on is re-read.
   *
   * <p>Batches left in flight by the previous flush are committed first, while this flush's first
   * batches are processed. With {@code leaveLastPending} this flush's last transaction's worth of
   * batches is not committed here but left in flight: the loop polls meanwhile and commits them
   * after the poll (or in the next flush, where more batches may join their transaction), so
   * neither the last commit nor the poll leaves the engine idle. Every path that gives up
   * partitions or stops commits (or, for lost partitions, drops) the batches in flight first.
   */
  private void flush(List<ConsumerRecord<byte[], byte[]>> records, boolean leaveLastPending) {
    int size = batcher.maxRecords();
    int ahead = settings.maxTransactionRecords() + size;
    int next = 0;
    while (true) {
      while (next < records.size() && inFlightRecords() < ahead) {
        List<ConsumerRecord<byte[], byte[]>> chunk =
            records.subList(next, Math.min(records.size(), next + size));
        inFlight.add(new Chunk(chunk, pipeline.submit(chunk)));
        next += chunk.size();
      }
      if (inFlight.isEmpty()
          || (leaveLastPending
              && next >= records.size()
              && inFlightRecords() <= settings.maxTransactionRecords())) {
        return;
      }
      if (!commitGroup()) {
        abandonInFlight(records.subList(next, records.size()));
        return;
      }
      if (killed) {
        return;
      }
    }
  }

  /** Commits every batch in flight; what cannot be committed is re-read. */
  private void commitPending() {
    while (!inFlight.isEmpty() && !killed) {
      if (!commitGroup()) {
        abandonInFlight(List.of());
        return;
      }
    }
  }

  private int inFlightRecords() {
    int n = 0;
    for (Chunk c : inFlight) {
      n += c.records().size();
    }
    return n;
  }

  /** Waits for the batches in flight, drops them and re-reads them and {@code rest}. */
  private void abandonInFlight(List<ConsumerRecord<byte[], byte[]>> rest) {
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
    for (Chunk c : inFlight) {
      BatchPipeline.awaitQuietly(c.work());
      all.addAll(c.records());
    }
    inFlight.clear();
    all.addAll(rest);
    rewind(all);
  }

  /**
   * Commits the batches at the head of {@link #inFlight} in one transaction: the first, and each
   * next one while the transaction stays within {@code maxTransactionRecords} and {@code
   * maxTransactionWait} has not passed since it started. Committed batches leave {@code inFlight};
   * false if they must be re-read (they stay).
   */
  private boolean commitGroup() {
    while (true) {
      List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
      List<Output> outputs = new ArrayList<>();
      List<Integer> sizes = new ArrayList<>();
      long start = clock.millis();
      for (Chunk c : inFlight) {
        if (!sizes.isEmpty()
            && (records.size() + c.records().size() > settings.maxTransactionRecords()
                || clock.millis() - start >= settings.maxTransactionWait().toMillis())) {
          break;
        }
        try {
          outputs.addAll(BatchPipeline.await(c.work()));
        } catch (RetriableException | FailureClassifier.SystemicFailure e) {
          // The pipeline has classified it: anything else it throws is fatal and ends the loop.
          if (e instanceof FailureClassifier.SystemicFailure) {
            stopIfSickTooLong(e, c.records());
          }
          problem = e.getMessage();
          warnLimited(
              "Worker {}: batch of {} records will be retried ({}): {}",
              settings.workerId(),
              c.records().size(),
              e.getClass().getSimpleName(),
              e.getMessage());
          backOff();
          return false;
        }
        records.addAll(c.records());
        sizes.add(c.records().size());
      }
      Optional<TransactionStep.Failure> failure =
          transactions.commit(records, outputs, consumer.groupMetadata());
      if (killed) {
        return true; // crash simulation: the transaction is left open, never committed
      }
      if (failure.isEmpty()) {
        sizes.forEach(n -> inFlight.removeFirst());
        committed(records, outputs, sizes);
        return true;
      }
      metrics.transaction(false);
      if (poisonOutputs(failure.get())) {
        // Dead-letter the sources of the refused outputs and commit the rest.
        transactions.abort();
        List<Chunk> again = new ArrayList<>();
        for (int i = 0; i < sizes.size(); i++) {
          List<ConsumerRecord<byte[], byte[]>> chunk = inFlight.removeFirst().records();
          again.add(new Chunk(chunk, pipeline.submit(chunk)));
        }
        for (int i = again.size() - 1; i >= 0; i--) {
          inFlight.addFirst(again.get(i));
        }
        continue;
      }
      KafkaException e = failure.get().error();
      if (classifier.classify(Where.TRANSACTION, e) == Outcome.FATAL) {
        throw new IllegalStateException(fatalMessage(e, records), e);
      }
      problem = "transaction not committed: " + e;
      warnLimited(
          "Worker {}: transaction for {} records not committed ({}: {}); re-creating the producer and re-reading "
              + "the batch",
          settings.workerId(),
          records.size(),
          e.getClass().getSimpleName(),
          e.getMessage());
      transactions.recreate();
      commitInDoubt = true;
      backOff();
      return false;
    }
  }

  /**
   * True if outputs were refused for good; their sources are then dead-lettered on the next
   * submission.
   */
  private boolean poisonOutputs(TransactionStep.Failure failure) {
    boolean any = false;
    for (var refused : failure.sendErrors().entrySet()) {
      Exception ex = refused.getValue();
      if (classifier.classify(Where.SEND, ex) == Outcome.POISON) {
        pipeline.refuse(refused.getKey(), ex.getClass().getSimpleName() + ": " + ex.getMessage());
        any = true;
      }
    }
    return any;
  }

  private String fatalMessage(KafkaException e, List<ConsumerRecord<byte[], byte[]>> chunk) {
    String what =
        FailureClassifier.isFenced(e)
            ? "was fenced "
                + classifier.recentFences()
                + " times within "
                + FailureClassifier.FENCE_WINDOW.toSeconds()
                + " s: another live worker uses the same transactional.id. Give each worker its own worker.id"
            : "cannot write transactions ("
                + e.getClass().getSimpleName()
                + ": "
                + e.getMessage()
                + "). Fix the ACLs, credentials or broker version";
    return "Worker "
        + settings.workerId()
        + " "
        + what
        + "; its batch of "
        + chunk.size()
        + " records from "
        + TransactionStep.offsets(chunk).keySet()
        + " was not committed and will be re-read; this worker stops.";
  }

  /**
   * Stops the worker (throws) once batches have failed systemically for longer than the bound: its
   * uncommitted records are left for a healthy worker.
   */
  private void stopIfSickTooLong(RuntimeException e, List<ConsumerRecord<byte[], byte[]>> chunk) {
    long now = clock.millis();
    if (sickSince < 0) {
      sickSince = now;
    }
    if (now - sickSince >= settings.maxFailureDuration().toMillis()) {
      throw new IllegalStateException(
          "Worker "
              + settings.workerId()
              + " has failed for "
              + (now - sickSince) / 1000
              + " s without committing a batch (failure.max.duration.ms = "
              + settings.maxFailureDuration().toMillis()
              + "): "
              + e.getMessage()
              + ". Its batch of "
              + chunk.size()
              + " records from "
              + TransactionStep.offsets(chunk).keySet()
              + " and everything after it stay uncommitted for a healthy worker; this worker stops.",
          e.getCause());
    }
  }

  private void warnLimited(String format, Object... args) {
    long now = clock.millis();
    if (now - lastWarnMillis >= WARN_EVERY.toMillis()) {
      lastWarnMillis = now;
      log.warn(format, args);
    } else {
      log.debug(format, args);
    }
  }

  private void committed(
      List<ConsumerRecord<byte[], byte[]>> chunk, List<Output> outputs, List<Integer> batches) {
    metrics.transaction(true);
    backOff.succeeded();
    if (problem != null) {
      log.info("Worker {}: batches commit again", settings.workerId());
    }
    sickSince = -1;
    problem = null;
    pipeline.committed(chunk);
    long now = clock.millis();
    int produced = 0;
    for (Output o : outputs) {
      if (o.deadLetter()) {
        metrics.deadLetter(errorClassOf(o));
      } else {
        produced++;
        if (o.eventTimeMillis() > 0) {
          metrics.endToEnd(Duration.ofMillis(Math.max(0, now - o.eventTimeMillis())));
        }
      }
    }
    metrics.recordsOut(produced);
    batches.forEach(metrics::batch);
  }

  /**
   * Pauses every assigned partition for the next back-off delay; the loop keeps polling and resumes
   * them.
   */
  private void backOff() {
    metrics.retry();
    backOff.failed();
    consumer.pause(consumer.assignment());
  }

  /**
   * Seeks every partition of {@code records} (and of the buffer) back to its earliest unprocessed
   * offset. After a commit in doubt the group's committed offsets say where to resume instead: a
   * commit that timed out may have been written, and the new producer's initTransactions has
   * completed it, so re-reading from the batch would produce it twice.
   */
  private void rewind(List<ConsumerRecord<byte[], byte[]>> records) {
    Map<TopicPartition, Long> resume = new HashMap<>();
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(records);
    all.addAll(batcher.take());
    for (ConsumerRecord<byte[], byte[]> r : all) {
      resume.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
    }
    resume.keySet().retainAll(consumer.assignment());
    if (commitInDoubt && !resume.isEmpty()) {
      try {
        consumer
            .committed(resume.keySet())
            .forEach(
                (tp, committed) -> {
                  if (committed != null) {
                    resume.put(tp, committed.offset());
                  }
                });
      } catch (KafkaException e) {
        log.warn(
            "Worker {}: could not read the committed offsets of {} ({}); re-reading from the batch, which "
                + "duplicates its outputs if the failed commit was written after all",
            settings.workerId(),
            resume.keySet(),
            e.toString());
      }
    }
    commitInDoubt = false;
    resume.forEach(consumer::seek);
  }

  private void updateLag() {
    long total = 0;
    for (TopicPartition tp : consumer.assignment()) {
      total += consumer.currentLag(tp).orElse(0);
    }
    metrics.lag(total);
  }

  private static String errorClassOf(Output o) {
    var header = o.record().headers().lastHeader("error_class");
    return header != null ? new String(header.value(), StandardCharsets.UTF_8) : "dead_letter";
  }

  private void closeClients(Duration timeout) {
    transactions.close(timeout);
    try {
      consumer.close(CloseOptions.timeout(timeout));
    } catch (RuntimeException e) {
      log.debug("closing consumer", e);
    }
  }

  /** The loop's side of a rebalance. */
  private final class Committer implements RebalanceListener.Committer {
    @Override
    public boolean crashed() {
      return killed;
    }

    @Override
    public void commitNow(List<ConsumerRecord<byte[], byte[]>> records) {
      if (records.isEmpty()) {
        commitPending();
      } else {
        flush(records, false); // commits the pending chunk first
      }
    }

    @Override
    public void dropPending(Set<TopicPartition> lost) {
      // Their transaction could no longer commit the lost partitions' offsets: drop the batches in
      // flight, re-read the rest.
      List<ConsumerRecord<byte[], byte[]>> keep = new ArrayList<>();
      for (Chunk c : inFlight) {
        BatchPipeline.awaitQuietly(c.work());
        for (ConsumerRecord<byte[], byte[]> r : c.records()) {
          if (!lost.contains(new TopicPartition(r.topic(), r.partition()))) {
            keep.add(r);
          }
        }
      }
      inFlight.clear();
      if (!keep.isEmpty()) {
        rewind(keep);
      }
    }
  }
}
