package io.softstream.worker.internals;

import io.softstream.worker.internals.TransactionalLoop.Output;
import java.time.Duration;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One batch, one transaction: begin, send its outputs and dead letters, add its consumed offsets
 * with the consumer's group metadata (so a worker that lost the partitions cannot commit them),
 * commit. Owns the transactional producer and re-creates it when its state cannot be trusted; a new
 * producer with the same {@code transactional.id} aborts whatever the old one left open. Loop
 * thread only.
 */
final class TransactionStep implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TransactionStep.class);

  /**
   * Why a transaction did not commit: the producer's error and the errors of single output records
   * (keyed by their source record) seen before it. The transaction is left for {@link #abort()} or
   * {@link #recreate()}.
   */
  record Failure(KafkaException error, Map<ConsumerRecord<byte[], byte[]>, Exception> sendErrors) {}

  private final Supplier<Producer<byte[], byte[]>> factory;
  private final BooleanSupplier crashed;
  private Producer<byte[], byte[]> producer;

  /**
   * @param crashed crash simulation for tests: when true at commit time the transaction is left
   *     open and uncommitted, as a process dying there would leave it
   */
  TransactionStep(Supplier<Producer<byte[], byte[]>> factory, BooleanSupplier crashed) {
    this.factory = factory;
    this.crashed = crashed;
  }

  /**
   * Creates the producer and registers its transactional.id (fencing any earlier producer with it).
   */
  void open() {
    producer = factory.get();
    producer.initTransactions();
  }

  /** Commits {@code outputs} and {@code batch}'s offsets in one transaction; empty when done. */
  Optional<Failure> commit(
      List<ConsumerRecord<byte[], byte[]>> batch,
      List<Output> outputs,
      ConsumerGroupMetadata group) {
    Map<ConsumerRecord<byte[], byte[]>, Exception> sendErrors = new IdentityHashMap<>();
    try {
      producer.beginTransaction();
      for (Output o : outputs) {
        producer.send(
            o.record(),
            (md, ex) -> {
              if (ex != null) {
                synchronized (sendErrors) {
                  sendErrors.put(o.source(), ex);
                }
              }
            });
      }
      producer.sendOffsetsToTransaction(offsets(batch), group);
      if (crashed.getAsBoolean()) {
        return Optional.empty();
      }
      producer.commitTransaction();
      return Optional.empty();
    } catch (KafkaException e) {
      synchronized (sendErrors) {
        return Optional.of(new Failure(e, new IdentityHashMap<>(sendErrors)));
      }
    }
  }

  /** Aborts the open transaction, or re-creates the producer when even that fails. */
  void abort() {
    try {
      producer.abortTransaction();
    } catch (KafkaException ambiguous) {
      recreate();
    }
  }

  /**
   * Closes the producer and opens a new one; its initTransactions ends what the old one left open.
   */
  void recreate() {
    try {
      producer.close(Duration.ofSeconds(5));
    } catch (RuntimeException ignored) {
      // already broken; the new producer fences whatever is left of it
    }
    open();
  }

  /** The offsets to commit for {@code batch}: per partition, one past its last record. */
  static Map<TopicPartition, OffsetAndMetadata> offsets(
      List<ConsumerRecord<byte[], byte[]>> batch) {
    Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      m.merge(
          new TopicPartition(r.topic(), r.partition()),
          new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), ""),
          (a, b) -> a.offset() >= b.offset() ? a : b);
    }
    return m;
  }

  void close(Duration timeout) {
    if (producer == null) {
      return;
    }
    try {
      producer.close(timeout);
    } catch (RuntimeException e) {
      log.debug("closing producer", e);
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
