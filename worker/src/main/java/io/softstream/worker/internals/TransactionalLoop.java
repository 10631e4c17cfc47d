package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exactly-once consume–transform–produce loop shared by every worker.
 *
 * <p>Records are buffered into micro-batches (up to {@code maxBatchRecords}, or whatever arrived
 * within {@code maxBatchWait} of the first: under load batches fill at once, when idle a lone record
 * waits at most {@code maxBatchWait}). Each batch is one Kafka transaction holding its outputs, its
 * dead letters and its consumed offsets ({@code sendOffsetsToTransaction} with the group metadata, so
 * a worker that lost its partitions cannot commit). Failures are classified once, here:
 *
 * <ul>
 *   <li>poison records become dead letters in the same transaction (the processor does that; if a
 *       whole batch throws, the loop retries record by record and dead-letters the ones that fail;
 *       an output the broker refuses as too large turns its source into a dead letter);
 *   <li>retriable failures (registry down, timeouts) and ambiguous producer errors abort the
 *       transaction, close and re-create the producer, seek back to the batch and back off;
 *   <li>fatal ones (authorization, unsupported version, fenced again and again because another live
 *       worker uses our {@code transactional.id}) stop the loop with an exception.
 * </ul>
 *
 * <p>Batches are pipelined in three stages: the processor's prepare stage (parsing, image decoding) on
 * a prepare thread, its second stage (inference) on a compute thread one batch ahead of the
 * transaction being committed on the loop thread; the last batch of a poll is committed after the
 * next poll, so the engine keeps working across polls under a backlog.
 *
 * <p>On revocation the buffered records of the revoked partitions are committed before they are given
 * up; on a graceful {@link #close()} the in-flight batch is finished and committed.
 */
public final class TransactionalLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(TransactionalLoop.class);
  private static final int MAX_FENCES_PER_MINUTE = 3;

  /** One record to produce, with the consumed record it came from. */
  public record Output(ConsumerRecord<byte[], byte[]> source, ProducerRecord<byte[], byte[]> record,
      boolean deadLetter, long eventTimeMillis) {}

  /** Turns a batch of consumed records into records to produce; see the class doc for failures. */
  public interface BatchProcessor {
    /**
     * @return at least one output per input record (a dead letter for a poison record)
     * @throws RetriableException to retry the whole batch later (e.g. the schema registry is down)
     */
    List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch);

    /**
     * {@link #process} in two stages: this one (parsing, image decoding) runs on the prepare thread, so
     * it overlaps the engine working on the previous batch; the returned stage runs on the compute
     * thread. Both stages may throw what {@code process} may throw. The default does everything in the
     * second stage.
     */
    default Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
      return () -> process(batch);
    }

    /** Called on the loop thread between polls when no batch is pending (e.g. to switch models while idle). */
    default void idle() {}
  }

  /** The second stage of {@link BatchProcessor#prepare}. */
  public interface Prepared {
    List<Output> finish();
  }

  /** Loop settings. */
  public record Settings(String workerId, Collection<String> topics, int maxBatchRecords, Duration maxBatchWait) {}

  private final Settings settings;
  private final Supplier<Consumer<byte[], byte[]>> consumerFactory;
  private final Supplier<Producer<byte[], byte[]>> producerFactory;
  private final BatchProcessor processor;
  private final DeadLetters deadLetters;
  private final WorkerMetrics metrics;
  private final Clock clock;

  private Consumer<byte[], byte[]> consumer;
  private Producer<byte[], byte[]> producer;
  private final List<ConsumerRecord<byte[], byte[]>> buffer = new ArrayList<>();
  private long firstBufferedNanos;
  // The last batch of a flush, processed ahead and committed after the next poll (see flush), or null.
  private List<ConsumerRecord<byte[], byte[]>> pendingChunk;
  private Future<List<Output>> pendingWork;
  // Loop thread only: consulted when a batch is submitted for processing.
  private final Map<ConsumerRecord<byte[], byte[]>, String> poisonOverrides = new IdentityHashMap<>();
  // Each processor stage runs on its own single thread, one batch at a time and in order, so the
  // processor never runs a stage concurrently with itself; idle() runs on the loop thread only while
  // nothing is being processed.
  private ExecutorService preparer;
  private ExecutorService compute;
  private final List<Long> fenceTimes = new ArrayList<>();
  private volatile boolean running = true;
  private volatile boolean killed;
  private volatile boolean polling;
  private volatile Set<TopicPartition> assignment = Set.of();
  private long backoffMs;
  private long pausedUntilNanos;

  public TransactionalLoop(Settings settings, Supplier<Consumer<byte[], byte[]>> consumerFactory,
      Supplier<Producer<byte[], byte[]>> producerFactory, BatchProcessor processor, DeadLetters deadLetters,
      WorkerMetrics metrics, Clock clock) {
    this.settings = settings;
    this.consumerFactory = consumerFactory;
    this.producerFactory = producerFactory;
    this.processor = processor;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** True once subscribed and polling, until the loop ends. */
  public boolean isRunning() {
    return polling && running;
  }

  /** The partitions this loop owned at its last poll. */
  public Set<TopicPartition> assignment() {
    return assignment;
  }

  /** Runs until {@link #close()} (returns normally) or a fatal error (throws). */
  @Override
  public void run() {
    consumer = consumerFactory.get();
    preparer = stageThread("prepare");
    compute = stageThread("compute");
    try {
      producer = newProducer();
      consumer.subscribe(settings.topics(), new Rebalance());
      polling = true;
      while (running) {
        resumeIfDue();
        if (buffer.isEmpty() && pendingChunk == null) {
          processor.idle();
        }
        try {
          // With a batch pending, only take what has already been fetched: that batch commits right after.
          Duration timeout = pendingChunk != null ? Duration.ZERO : buffer.isEmpty() ? Duration.ofMillis(500)
              : Duration.ofNanos(Math.max(1_000_000, settings.maxBatchWait().toNanos() - (System.nanoTime() - firstBufferedNanos)));
          var records = consumer.poll(timeout);
          if (killed) {
            return;
          }
          if (!records.isEmpty()) {
            if (buffer.isEmpty()) {
              firstBufferedNanos = System.nanoTime();
            }
            records.forEach(buffer::add);
            metrics.recordsIn(records.count());
          }
          updateLag();
          assignment = Set.copyOf(consumer.assignment());
        } catch (WakeupException e) {
          if (killed) {
            return;
          }
          continue; // close() woke us: leave the loop with the batch still to finish
        }
        if (buffer.size() >= settings.maxBatchRecords()
            || (!buffer.isEmpty() && System.nanoTime() - firstBufferedNanos >= settings.maxBatchWait().toNanos())) {
          flush(takeBuffer(), true);
        } else {
          commitPending();
        }
      }
      if (!killed) {
        if (!buffer.isEmpty()) {
          log.info("Worker {} stopping: finishing the in-flight batch of {} records", settings.workerId(), buffer.size());
          flush(takeBuffer(), false);
        }
        commitPending();
      }
    } finally {
      polling = false;
      assignment = Set.of();
      preparer.shutdown();
      compute.shutdown();
      closeClients(killed ? Duration.ZERO : Duration.ofSeconds(10));
    }
  }

  /** Graceful stop: finish and commit the in-flight batch, then close. Returns at once. */
  public void close() {
    running = false;
    if (consumer != null) {
      consumer.wakeup();
    }
  }

  /** Crash simulation for tests: stop now, committing nothing more (an open transaction is left to abort). */
  public void kill() {
    killed = true;
    close();
  }

  private List<ConsumerRecord<byte[], byte[]>> takeBuffer() {
    List<ConsumerRecord<byte[], byte[]>> b = new ArrayList<>(buffer);
    buffer.clear();
    return b;
  }

  /**
   * Commits {@code records} chunk by chunk. The processor works one chunk ahead on the compute thread,
   * so chunk i+1 is being processed while chunk i's transaction commits (the commit round trips
   * would otherwise leave the engine idle). If a chunk cannot be committed, the chunk being processed
   * ahead is waited for and dropped, and everything from the failed chunk on is re-read.
   *
   * <p>The chunk left pending by the previous flush is committed first, while this flush's first chunk
   * is processed. With {@code leaveLastPending} this flush's last chunk is not committed here but left
   * pending: the loop polls meanwhile and commits it after the poll (or in the next flush), so neither
   * the last commit nor the poll leaves the engine idle. Every path that gives up partitions or stops
   * commits (or, for lost partitions, drops) the pending chunk first.
   */
  private void flush(List<ConsumerRecord<byte[], byte[]>> records, boolean leaveLastPending) {
    int size = settings.maxBatchRecords();
    Future<List<Output>> ahead = processAsync(records.subList(0, Math.min(records.size(), size)));
    if (pendingChunk != null) {
      List<ConsumerRecord<byte[], byte[]>> previous = pendingChunk;
      Future<List<Output>> previousWork = pendingWork;
      clearPending();
      if (!commitChunk(previous, previousWork)) {
        waitQuietly(ahead);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(previous);
        all.addAll(records);
        rewind(all);
        return;
      }
    }
    for (int from = 0; from < records.size(); from += size) {
      List<ConsumerRecord<byte[], byte[]>> chunk = records.subList(from, Math.min(records.size(), from + size));
      Future<List<Output>> current = ahead;
      int next = from + size;
      if (next >= records.size() && leaveLastPending) {
        pendingChunk = chunk;
        pendingWork = current;
        return;
      }
      ahead = next < records.size() ? processAsync(records.subList(next, Math.min(records.size(), next + size))) : null;
      if (!commitChunk(chunk, current)) {
        waitQuietly(ahead);
        rewind(records.subList(from, records.size()));
        return;
      }
    }
  }

  /** Commits the chunk the last flush left pending, if any; if it cannot be committed it is re-read. */
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

  private ExecutorService stageThread(String stage) {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, settings.workerId() + "-" + stage);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Submits {@code chunk}: records whose output the broker refused become dead letters, the others go
   * through the processor's two stages (prepare thread, then compute thread).
   */
  private Future<List<Output>> processAsync(List<ConsumerRecord<byte[], byte[]>> chunk) {
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>();
    List<Output> refused = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : chunk) {
      String reason = poisonOverrides.get(r);
      if (reason != null) {
        refused.add(new Output(r, deadLetters.of(r, "OutputRejected", "The output for this record was refused by the broker: "
            + reason), true, -1));
      } else {
        good.add(r);
      }
    }
    Future<Prepared> prepared = good.isEmpty() ? null : preparer.submit(() -> processor.prepare(good));
    return compute.submit(() -> finishSafely(good, refused, prepared));
  }

  /** The result of {@code processing}; a failure inside it is rethrown as it was thrown. */
  private static <T> T outputsOf(Future<T> processing) {
    try {
      return processing.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptException(e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static void waitQuietly(Future<List<Output>> processing) {
    if (processing != null) {
      try {
        outputsOf(processing);
      } catch (RuntimeException ignored) {
        // its records are re-read and processed again
      }
    }
  }

  /** Commits one processed batch in one transaction; false if it must be re-consumed. */
  private boolean commitChunk(List<ConsumerRecord<byte[], byte[]>> chunk, Future<List<Output>> processing) {
    while (true) {
      List<Output> outputs;
      try {
        outputs = outputsOf(processing);
      } catch (RetriableException e) {
        log.warn("Worker {}: batch of {} records will be retried ({}): {}", settings.workerId(), chunk.size(),
            e.getClass().getSimpleName(), e.getMessage());
        backOff();
        return false;
      }
      Map<ConsumerRecord<byte[], byte[]>, Exception> sendErrors = new IdentityHashMap<>();
      try {
        producer.beginTransaction();
        for (Output o : outputs) {
          producer.send(o.record(), (md, ex) -> {
            if (ex != null) {
              synchronized (sendErrors) {
                sendErrors.put(o.source(), ex);
              }
            }
          });
        }
        producer.sendOffsetsToTransaction(offsets(chunk), consumer.groupMetadata());
        if (killed) {
          return true; // crash simulation: never commit this one
        }
        producer.commitTransaction();
      } catch (KafkaException e) {
        metrics.transaction(false);
        Exception first = firstSendError(sendErrors);
        if (first instanceof RecordTooLargeException || first instanceof SerializationException) {
          // Deterministic: the same input would fail forever. Dead-letter its source and retry the rest.
          synchronized (sendErrors) {
            sendErrors.forEach((src, ex) -> poisonOverrides.put(src, ex.getClass().getSimpleName() + ": " + ex.getMessage()));
          }
          abortOrRecreate(e);
          processing = processAsync(chunk);
          continue;
        }
        handleTransactionFailure(e, chunk.size());
        return false;
      }
      metrics.transaction(true);
      backoffMs = 0;
      poisonOverrides.keySet().removeAll(chunk);
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
      return true;
    }
  }

  private List<Output> finishSafely(List<ConsumerRecord<byte[], byte[]>> good, List<Output> refused,
      Future<Prepared> prepared) {
    List<Output> out = new ArrayList<>(refused);
    if (prepared == null) {
      return out;
    }
    try {
      out.addAll(outputsOf(prepared).finish());
      return out;
    } catch (RetriableException e) {
      throw e;
    } catch (RuntimeException e) {
      log.warn("Worker {}: a batch of {} failed ({}); retrying record by record", settings.workerId(), good.size(),
          e.toString());
      for (ConsumerRecord<byte[], byte[]> r : good) {
        try {
          out.addAll(processor.process(List.of(r)));
        } catch (RetriableException re) {
          throw re;
        } catch (RuntimeException re) {
          out.add(new Output(r, deadLetters.of(r, re), true, -1));
        }
      }
      return out;
    }
  }

  private void handleTransactionFailure(KafkaException e, int size) {
    if (e instanceof AuthorizationException || e instanceof AuthenticationException || e instanceof UnsupportedVersionException) {
      throw new IllegalStateException("Worker " + settings.workerId() + " cannot write transactions: " + e.getMessage()
          + ". Fix the ACLs/credentials/broker version; the batch was not committed and will be re-read.", e);
    }
    if (e instanceof ProducerFencedException || e instanceof InvalidProducerEpochException) {
      long now = System.currentTimeMillis();
      fenceTimes.removeIf(t -> now - t > 60_000);
      fenceTimes.add(now);
      if (fenceTimes.size() >= MAX_FENCES_PER_MINUTE) {
        throw new IllegalStateException("Worker " + settings.workerId() + " was fenced " + fenceTimes.size()
            + " times in a minute: another live worker uses the same transactional.id. Give each worker its own "
            + "worker.id; this worker stops, its batch was not committed.", e);
      }
    }
    log.warn("Worker {}: transaction for {} records not committed ({}: {}); re-creating the producer and re-reading "
        + "the batch", settings.workerId(), size, e.getClass().getSimpleName(), e.getMessage());
    recreateProducer();
    backOff();
  }

  private void abortOrRecreate(KafkaException e) {
    try {
      producer.abortTransaction();
    } catch (KafkaException ambiguous) {
      recreateProducer();
    }
  }

  private void recreateProducer() {
    try {
      producer.close(Duration.ofSeconds(5));
    } catch (RuntimeException ignored) {
      // already broken; a new producer with the same transactional.id fences whatever is left
    }
    producer = newProducer();
  }

  private Producer<byte[], byte[]> newProducer() {
    Producer<byte[], byte[]> p = producerFactory.get();
    p.initTransactions();
    return p;
  }

  /** Seeks every partition of {@code records} (and of the buffer) back to its earliest unprocessed offset. */
  private void rewind(List<ConsumerRecord<byte[], byte[]>> records) {
    Map<TopicPartition, Long> earliest = new HashMap<>();
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(records);
    all.addAll(buffer);
    for (ConsumerRecord<byte[], byte[]> r : all) {
      earliest.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
    }
    buffer.clear();
    Set<TopicPartition> assigned = consumer.assignment();
    earliest.forEach((tp, offset) -> {
      if (assigned.contains(tp)) {
        consumer.seek(tp, offset);
      }
    });
  }

  private static Map<TopicPartition, OffsetAndMetadata> offsets(List<ConsumerRecord<byte[], byte[]>> chunk) {
    Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : chunk) {
      m.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), ""),
          (a, b) -> a.offset() >= b.offset() ? a : b);
    }
    return m;
  }

  private static Exception firstSendError(Map<ConsumerRecord<byte[], byte[]>, Exception> errors) {
    synchronized (errors) {
      return errors.values().stream().findFirst().orElse(null);
    }
  }

  private static String errorClassOf(Output o) {
    return o.record().headers().lastHeader("error_class") != null
        ? new String(o.record().headers().lastHeader("error_class").value(), java.nio.charset.StandardCharsets.UTF_8)
        : "dead_letter";
  }

  /**
   * Backpressure after a failure: pause every assigned partition for a growing delay (100 ms doubling
   * to 5 s) while the loop keeps polling, so the group membership stays alive however long the
   * registry or broker is unavailable; the main loop resumes them when the delay is over.
   */
  private void backOff() {
    metrics.retry();
    backoffMs = Math.min(5_000, backoffMs == 0 ? 100 : backoffMs * 2);
    pausedUntilNanos = System.nanoTime() + backoffMs * 1_000_000;
    consumer.pause(consumer.assignment());
  }

  private void resumeIfDue() {
    if (pausedUntilNanos != 0 && System.nanoTime() >= pausedUntilNanos) {
      pausedUntilNanos = 0;
      consumer.resume(consumer.paused());
    }
  }

  private void updateLag() {
    long total = 0;
    for (TopicPartition tp : consumer.assignment()) {
      total += consumer.currentLag(tp).orElse(0);
    }
    metrics.lag(total);
  }

  private void closeClients(Duration timeout) {
    try {
      if (producer != null) {
        producer.close(timeout);
      }
    } catch (RuntimeException e) {
      log.debug("closing producer", e);
    }
    try {
      consumer.close(killed ? org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ZERO)
          : org.apache.kafka.clients.consumer.CloseOptions.timeout(timeout));
    } catch (RuntimeException e) {
      log.debug("closing consumer", e);
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (killed) {
        return;
      }
      Set<TopicPartition> revoked = new HashSet<>(partitions);
      List<ConsumerRecord<byte[], byte[]>> mine = new ArrayList<>();
      buffer.removeIf(r -> {
        boolean m = revoked.contains(new TopicPartition(r.topic(), r.partition()));
        if (m) {
          mine.add(r);
        }
        return m;
      });
      if (!mine.isEmpty()) {
        log.info("Worker {}: committing {} buffered records of revoked partitions {}", settings.workerId(), mine.size(),
            partitions);
        flush(mine, false); // commits the pending chunk first
      } else {
        commitPending();
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      Set<TopicPartition> lost = new HashSet<>(partitions);
      buffer.removeIf(r -> lost.contains(new TopicPartition(r.topic(), r.partition())));
      if (pendingChunk != null) {
        // Its transaction could no longer commit the lost partitions' offsets: drop it, re-read the rest.
        waitQuietly(pendingWork);
        List<ConsumerRecord<byte[], byte[]>> keep = pendingChunk.stream()
            .filter(r -> !lost.contains(new TopicPartition(r.topic(), r.partition()))).toList();
        clearPending();
        if (!keep.isEmpty()) {
          rewind(keep);
        }
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      log.info("Worker {}: assigned {}", settings.workerId(), partitions);
    }
  }
}
