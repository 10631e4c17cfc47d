package io.softstream.worker.internals;

import io.softstream.worker.internals.FailureClassifier.Outcome;
import io.softstream.worker.internals.FailureClassifier.Where;
import io.softstream.worker.internals.TransactionalLoop.BatchProcessor;
import io.softstream.worker.internals.TransactionalLoop.Output;
import io.softstream.worker.internals.TransactionalLoop.Prepared;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the processor's two stages on their own threads: prepare (parsing, image decoding) on {@code
 * <worker>-prepare}, finish (inference) on {@code <worker>-compute}. Each stage has one thread and
 * takes batches in order, so the processor never runs a stage concurrently with itself, and the
 * next batch is prepared while the engine works on this one.
 *
 * <p>A batch's future yields its outputs, or fails with a {@link RetriableException} or a {@link
 * FailureClassifier.SystemicFailure} (re-read the batch later; nothing is dead-lettered). A batch
 * that fails in a way that may be a record's fault is retried record by record, and the records
 * that {@link FailureClassifier} blames become dead letters.
 */
final class BatchPipeline implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchPipeline.class);

  private final String workerId;
  private final BatchProcessor processor;
  private final DeadLetters deadLetters;
  private final FailureClassifier classifier;
  private final ExecutorService preparer;
  private final ExecutorService compute;
  // Loop thread only: read when a batch is submitted.
  private final Map<ConsumerRecord<byte[], byte[]>, String> refused = new IdentityHashMap<>();

  BatchPipeline(
      String workerId,
      BatchProcessor processor,
      DeadLetters deadLetters,
      FailureClassifier classifier) {
    this.workerId = workerId;
    this.processor = processor;
    this.deadLetters = deadLetters;
    this.classifier = classifier;
    this.preparer = stageThread("prepare");
    this.compute = stageThread("compute");
  }

  /**
   * The next submission of {@code source} dead-letters it with {@code reason} instead of processing
   * it.
   */
  void refuse(ConsumerRecord<byte[], byte[]> source, String reason) {
    refused.put(source, reason);
  }

  /** Forgets refusals of records that are committed now. */
  void committed(Collection<ConsumerRecord<byte[], byte[]>> batch) {
    batch.forEach(refused::remove);
  }

  /**
   * Submits {@code batch}: refused records become dead letters, the others go through both stages.
   */
  Future<List<Output>> submit(List<ConsumerRecord<byte[], byte[]>> batch) {
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>();
    List<Output> deadLettered = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      String reason = refused.get(r);
      if (reason != null) {
        deadLettered.add(
            new Output(
                r,
                deadLetters.of(
                    r,
                    "OutputRejected",
                    "The output for this record was refused by the broker: " + reason),
                true,
                -1));
      } else {
        good.add(r);
      }
    }
    Future<Prepared> prepared =
        good.isEmpty() ? null : preparer.submit(() -> processor.prepare(good));
    return compute.submit(() -> finish(good, deadLettered, prepared));
  }

  /** The outputs of a submitted batch; its failure is rethrown as it was thrown. */
  static <T> T await(Future<T> work) {
    try {
      return work.get();
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

  /** Waits for a batch whose outputs are not wanted (its records will be re-read). */
  static void awaitQuietly(Future<List<Output>> work) {
    if (work != null) {
      try {
        await(work);
      } catch (RuntimeException ignored) {
        // its records are re-read and processed again
      }
    }
  }

  private List<Output> finish(
      List<ConsumerRecord<byte[], byte[]>> good,
      List<Output> deadLettered,
      Future<Prepared> prepared) {
    List<Output> out = new ArrayList<>(deadLettered);
    if (prepared == null) {
      return out;
    }
    try {
      out.addAll(await(prepared).finish());
      return out;
    } catch (RuntimeException e) {
      Outcome outcome = classifier.classify(Where.PROCESSING, e);
      if (outcome != Outcome.POISON && !classifier.mayBeTheRecords(e)) {
        rethrow(e, outcome, good.size());
      }
      log.warn(
          "Worker {}: a batch of {} failed ({}); retrying record by record",
          workerId,
          good.size(),
          e.toString());
    }
    // Which records fail alone; whether they are to blame is decided once all were tried.
    List<List<Output>> each = new ArrayList<>(good.size());
    Map<ConsumerRecord<byte[], byte[]>, RuntimeException> failed = new IdentityHashMap<>();
    boolean processed = false;
    for (ConsumerRecord<byte[], byte[]> r : good) {
      try {
        List<Output> o = processor.process(List.of(r));
        processed |= o.stream().anyMatch(x -> !x.deadLetter());
        each.add(o);
      } catch (RuntimeException e) {
        failed.put(r, e);
        each.add(null);
      }
    }
    for (int i = 0; i < good.size(); i++) {
      ConsumerRecord<byte[], byte[]> r = good.get(i);
      RuntimeException e = failed.get(r);
      if (e == null) {
        out.addAll(each.get(i));
        continue;
      }
      Outcome outcome = classifier.classifyAlone(e, processed);
      if (outcome != Outcome.POISON) {
        rethrow(e, outcome, good.size());
      }
      out.add(new Output(r, deadLetters.of(r, e), true, -1));
    }
    return out;
  }

  /** Nothing of the batch is dead-lettered: the loop re-reads it after a back-off. */
  private void rethrow(RuntimeException e, Outcome outcome, int records) {
    if (outcome == Outcome.RETRIABLE) {
      throw e;
    }
    throw new FailureClassifier.SystemicFailure(
        "Worker "
            + workerId
            + " cannot process records ("
            + e.getClass().getSimpleName()
            + ": "
            + e.getMessage()
            + "); no record is to blame, so none is dead-lettered: the batch of "
            + records
            + " records is re-read after a back-off",
        e);
  }

  private ExecutorService stageThread(String stage) {
    return Executors.newSingleThreadExecutor(
        r -> {
          Thread t = new Thread(r, workerId + "-" + stage);
          t.setDaemon(true);
          return t;
        });
  }

  @Override
  public void close() {
    preparer.shutdown();
    compute.shutdown();
  }
}
