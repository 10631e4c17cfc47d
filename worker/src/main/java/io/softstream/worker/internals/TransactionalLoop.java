package io.softstream.worker.internals;

import io.softstream.worker.internals.FailureClassifier.Outcome;
import io.softstream.worker.internals.FailureClassifier.Where;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
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
 *   <li>{@link BatchPipeline} runs the processor's two stages on their own threads, one batch ahead
 *       of the transaction being committed on the loop thread;
 *   <li>{@link TransactionStep} commits each batch as one Kafka transaction holding its outputs,
 *       its dead letters and its consumed offsets (with the group metadata, so a worker that lost
 *       its partitions cannot commit);
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
 * <p>The last batch of a poll is committed after the next poll, so the engine keeps working across
 * polls under a backlog. On a graceful {@link #close()} the in-flight batch is finished and
 * committed.
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
   */
  public record Settings(
      String workerId,
      Collection<String> topics,
      int maxBatchRecords,
      Duration maxBatchWait,
      Duration maxFailureDuration) {
    public static final Duration DEFAULT_MAX_FAILURE_DURATION = Duration.ofMinutes(3);

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
  // The last batch of a flush, processed ahead and committed after the next poll (see flush), or
  // null.
  private List<ConsumerRecord<byte[], byte[]>> pendingChunk;
  private Future<List<Output>> pendingWork;
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
        if (batcher.isEmpty() && pendingChunk == null) {
          processor.idle();
        }
        try {
          // With a batch pending, only take what has already been fetched: that batch commits right
          // after.
          var records =
              consumer.poll(
                  pendingChunk == null
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
    return pendingWork != null && !pendingWork.isDone() && processor.joinsWorkInFlight();
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

  /**
   * Commits {@code records} chunk by chunk. The pipeline works one chunk ahead, so chunk i+1 is
   * being processed while chunk i's transaction commits (the commit round trips would otherwise
   * leave the engine idle). If a chunk cannot be committed, the chunk being processed ahead is
   * waited for and dropped, and everything from the failed chunk on is re-read.
   *
   * <p>The chunk left pending by the previous flush is committed first, while this flush's first
   * chunk is processed. With {@code leaveLastPending} this flush's last chunk is not committed here
   * but left pending: the loop polls meanwhile and commits it after the poll (or in the next
   * flush), so neither the last commit nor the poll leaves the engine idle. Every path that gives
   * up partitions or stops commits (or, for lost partitions, drops) the pending chunk first.
   */
  private void flush(List<ConsumerRecord<byte[], byte[]>> records, boolean leaveLastPending) {
    int size = batcher.maxRecords();
    Future<List<Output>> ahead =
        records.isEmpty()
            ? null
            : pipeline.submit(records.subList(0, Math.min(records.size(), size)));
    if (pendingChunk != null) {
      List<ConsumerRecord<byte[], byte[]>> previous = pendingChunk;
      Future<List<Output>> previousWork = pendingWork;
      clearPending();
      if (!commitChunk(previous, previousWork)) {
        BatchPipeline.awaitQuietly(ahead);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(previous);
        all.addAll(records);
        rewind(all);
        return;
      }
    }
    for (int from = 0; from < records.size(); from += size) {
      List<ConsumerRecord<byte[], byte[]>> chunk =
          records.subList(from, Math.min(records.size(), from + size));
      Future<List<Output>> current = ahead;
      int next = from + size;
      if (next >= records.size() && leaveLastPending) {
        pendingChunk = chunk;
        pendingWork = current;
        return;
      }
      ahead =
          next < records.size()
              ? pipeline.submit(records.subList(next, Math.min(records.size(), next + size)))
              : null;
      if (!commitChunk(chunk, current)) {
        BatchPipeline.awaitQuietly(ahead);
        rewind(records.subList(from, records.size()));
        return;
      }
    }
  }

  /**
   * Commits the chunk the last flush left pending, if any; if it cannot be committed it is re-read.
   */
  private void commitPending() {
    if (pendingChunk == null) {
      return;
    }
    List<ConsumerRecord<byte[], byte[]>> chunk = pendingChunk;
    Future<List<Output>> work = pendingWork;
    clearPending();
    if (!commitChunk(chunk, work)) {
      rewind(chunk);
    }
  }

  private void clearPending() {
    pendingChunk = null;
    pendingWork = null;
  }

  /** Commits one processed batch in one transaction; false if it must be re-consumed. */
  private boolean commitChunk(
      List<ConsumerRecord<byte[], byte[]>> chunk, Future<List<Output>> work) {
    while (true) {
      List<Output> outputs;
      try {
        outputs = BatchPipeline.await(work);
      } catch (RetriableException | FailureClassifier.SystemicFailure e) {
        // The pipeline has classified it: anything else it throws is fatal and ends the loop.
        if (e instanceof FailureClassifier.SystemicFailure) {
          stopIfSickTooLong(e, chunk);
        }
        problem = e.getMessage();
        warnLimited(
            "Worker {}: batch of {} records will be retried ({}): {}",
            settings.workerId(),
            chunk.size(),
            e.getClass().getSimpleName(),
            e.getMessage());
        backOff();
        return false;
      }
      Optional<TransactionStep.Failure> failure =
          transactions.commit(chunk, outputs, consumer.groupMetadata());
      if (killed) {
        return true; // crash simulation: the transaction is left open, never committed
      }
      if (failure.isEmpty()) {
        committed(chunk, outputs);
        return true;
      }
      metrics.transaction(false);
      if (poisonOutputs(failure.get())) {
        // Dead-letter the sources of the refused outputs and commit the rest.
        transactions.abort();
        work = pipeline.submit(chunk);
        continue;
      }
      KafkaException e = failure.get().error();
      if (classifier.classify(Where.TRANSACTION, e) == Outcome.FATAL) {
        throw new IllegalStateException(fatalMessage(e, chunk), e);
      }
      problem = "transaction not committed: " + e;
      warnLimited(
          "Worker {}: transaction for {} records not committed ({}: {}); re-creating the producer and re-reading "
              + "the batch",
          settings.workerId(),
          chunk.size(),
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

  private void committed(List<ConsumerRecord<byte[], byte[]>> chunk, List<Output> outputs) {
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
    metrics.batch(chunk.size());
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
      if (pendingChunk == null) {
        return;
      }
      // Its transaction could no longer commit the lost partitions' offsets: drop it, re-read the
      // rest.
      BatchPipeline.awaitQuietly(pendingWork);
      List<ConsumerRecord<byte[], byte[]>> keep =
          pendingChunk.stream()
              .filter(r -> !lost.contains(new TopicPartition(r.topic(), r.partition())))
              .toList();
      clearPending();
      if (!keep.isEmpty()) {
        rewind(keep);
      }
    }
  }
}
