package io.softstream.worker.internals;

import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.serde.TruncatedRecordException;
import io.softstream.schemas.serde.UnknownMagicByteException;
import io.softstream.schemas.serde.UnknownSchemaException;
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
 *       declared size not the decoded one, an output the broker refuses as too large): it becomes a
 *       dead letter committed with its batch;
 *   <li>{@link Outcome#RETRIABLE}: the registry or broker is unavailable, or the producer is in a
 *       state we cannot trust: abort, re-read the batch, back off, for as long as it takes;
 *   <li>{@link Outcome#SYSTEMIC}: the worker or one of its dependencies is broken (an engine fault,
 *       the registry answering 401/403/429, a serializer that cannot write): no record is to blame,
 *       so none is dead-lettered; re-read the batch and back off, and stop after {@code
 *       failure.max.duration.ms} so that a healthy worker takes the partitions;
 *   <li>{@link Outcome#FATAL}: retrying cannot help (Kafka credentials, ACLs, broker version,
 *       another live worker with our {@code transactional.id}): the worker stops.
 * </ul>
 *
 * <p>The same type means different things in different places, so the caller says where it failed.
 * {@link Where#READ} and {@link Where#PROCESSING} are classified on the worker's threads and keep
 * no state; {@link Where#TRANSACTION} counts fences and is for the loop thread only.
 */
public final class FailureClassifier {
  /** What follows a failure. */
  enum Outcome {
    POISON,
    RETRIABLE,
    SYSTEMIC,
    FATAL
  }

  /** Where the failure happened. */
  enum Where {
    /** Thrown while deserializing and checking one input record. */
    READ,
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
    if (where == Where.READ || where == Where.PROCESSING) {
      return classifyRecordWork(where, e);
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
      case READ, PROCESSING -> throw new AssertionError(where);
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
   * A failure of one record processed alone, when the batch it came in failed as a whole. A type
   * that says nothing about who is to blame (an engine's {@code RuntimeException}, a bug) is the
   * record's fault only if other records of the same batch were processed meanwhile: then the
   * worker works. When nothing in the batch could be processed, it is the worker's.
   */
  Outcome classifyAlone(Throwable e, boolean othersProcessed) {
    Outcome o = classify(Where.PROCESSING, e);
    return o == Outcome.SYSTEMIC && !knownSystemic(e) && othersProcessed ? Outcome.POISON : o;
  }

  /**
   * For a worker reading one input record: true when {@code e} means the record is bad (it becomes
   * a dead letter), false when the worker or its registry is to blame (rethrow it: the batch is
   * re-read later and nothing is dead-lettered).
   */
  public static boolean isBadRecord(Throwable e) {
    return classifyRecordWork(Where.READ, e) == Outcome.POISON;
  }

  private static Outcome classifyRecordWork(Where where, Throwable e) {
    if (e instanceof PoisonRecordException
        || e instanceof UnknownMagicByteException
        || e instanceof TruncatedRecordException
        || e instanceof UnknownSchemaException) {
      return Outcome.POISON;
    }
    if (e instanceof RetriableException) {
      return Outcome.RETRIABLE;
    }
    // Reading a record, the deserializer's other errors say its bytes do not fit the schema; an
    // error answer of the registry (401, 403, 429...) is about this worker, not the record.
    if (where == Where.READ
        && e instanceof SerializationException
        && !(e instanceof SchemaRegistryException)) {
      return Outcome.POISON;
    }
    return Outcome.SYSTEMIC;
  }

  /**
   * True when a batch failure of this kind may come from one of its records, so that trying them
   * one by one tells which ({@link #classifyAlone}).
   */
  boolean mayBeTheRecords(Throwable e) {
    return classify(Where.PROCESSING, e) == Outcome.SYSTEMIC && !knownSystemic(e);
  }

  /**
   * The worker or a dependency failed ({@link Outcome#SYSTEMIC}): the batch is re-read after a
   * back-off and nothing is dead-lettered.
   */
  static final class SystemicFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SystemicFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Types that name a sick worker or dependency whatever the record. */
  private static boolean knownSystemic(Throwable e) {
    return e instanceof AuthenticationException
        || e instanceof AuthorizationException
        || e instanceof SerializationException // registry answers, a serializer that cannot write
        || e instanceof KafkaException
        || e instanceof Error;
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
