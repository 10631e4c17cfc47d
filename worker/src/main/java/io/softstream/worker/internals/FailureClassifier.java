package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Says, in one place, what each failure of the loop means (docs/patterns.md 8):
 *
 * <ul>
 *   <li>{@link Outcome#POISON}: the record itself can never succeed (undecodable, unknown schema,
 *       an output the broker refuses as too large): it becomes a dead letter committed with its
 *       batch;
 *   <li>{@link Outcome#RETRIABLE}: the registry or broker is unavailable, or the producer is in a
 *       state we cannot trust: abort, re-read the batch, back off;
 *   <li>{@link Outcome#FATAL}: retrying cannot help (credentials, ACLs, broker version, another
 *       live worker with our {@code transactional.id}): the worker stops.
 * </ul>
 *
 * <p>The same type means different things in different places, so the caller says where it failed.
 * {@link Where#PROCESSING} is classified on the compute thread and keeps no state; {@link
 * Where#TRANSACTION} counts fences and is for the loop thread only.
 */
final class FailureClassifier {
  /** What follows a failure. */
  enum Outcome {
    POISON,
    RETRIABLE,
    FATAL
  }

  /** Where the failure happened. */
  enum Where {
    /** Thrown by the processor for a batch or a record. */
    PROCESSING,
    /** A producer send callback: the error of one output record. */
    SEND,
    /** Thrown by the producer while the transaction was begun, filled or committed. */
    TRANSACTION
  }

  /**
   * A fence can also come from the coordinator aborting a transaction that ran past its timeout,
   * and a new producer recovers from that; fenced this often, another live worker has our
   * transactional.id.
   */
  static final int MAX_FENCES = 3;

  static final Duration FENCE_WINDOW = Duration.ofMinutes(1);

  private final Clock clock;
  private final Deque<Long> fenceTimes = new ArrayDeque<>();

  FailureClassifier(Clock clock) {
    this.clock = clock;
  }

  Outcome classify(Where where, Throwable e) {
    if (where == Where.TRANSACTION && isFenced(e)) {
      return fencedTooOften() ? Outcome.FATAL : Outcome.RETRIABLE;
    }
    if (e instanceof AuthenticationException
        || e instanceof AuthorizationException
        || e instanceof UnsupportedVersionException) {
      return Outcome.FATAL;
    }
    if (e instanceof RetriableException) {
      return Outcome.RETRIABLE;
    }
    return switch (where) {
      // A processor failure that is not about the registry or broker is about the record.
      case PROCESSING -> Outcome.POISON;
      // Deterministic: the same output would be refused forever. Other send errors fail the
      // transaction.
      case SEND ->
          e instanceof RecordTooLargeException || e instanceof SerializationException
              ? Outcome.POISON
              : Outcome.RETRIABLE;
      // Ambiguous producer state: a new producer (which aborts what is left) and a re-read are
      // always safe.
      case TRANSACTION -> Outcome.RETRIABLE;
    };
  }

  /**
   * How many fences were seen within {@link #FENCE_WINDOW}, for the message that stops the worker.
   */
  int recentFences() {
    return fenceTimes.size();
  }

  static boolean isFenced(Throwable e) {
    // The producer may wrap it (a send after the fence throws KafkaException caused by
    // ProducerFencedException).
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
        return true;
      }
      if (!(t instanceof KafkaException)) {
        return false;
      }
    }
    return false;
  }

  private boolean fencedTooOften() {
    long now = clock.millis();
    while (!fenceTimes.isEmpty() && now - fenceTimes.peekFirst() > FENCE_WINDOW.toMillis()) {
      fenceTimes.removeFirst();
    }
    fenceTimes.addLast(now);
    return fenceTimes.size() >= MAX_FENCES;
  }
}
