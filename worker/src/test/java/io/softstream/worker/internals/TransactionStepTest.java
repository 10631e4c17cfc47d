package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.worker.internals.TransactionalLoop.Output;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class TransactionStepTest {
  private static final ConsumerGroupMetadata GROUP = new ConsumerGroupMetadata("encode");
  private final List<MockProducer<byte[], byte[]>> producers = new ArrayList<>();
  private final TransactionStep step =
      new TransactionStep(
          () -> {
            MockProducer<byte[], byte[]> p =
                new MockProducer<>(
                    true, null, new ByteArraySerializer(), new ByteArraySerializer());
            producers.add(p);
            return p;
          },
          () -> false);

  @Test
  void aBatchIsCommittedInOneTransactionWithTheOffsetsAfterItsLastRecords() {
    step.open();
    var batch = List.of(record(0, 5), record(0, 6), record(1, 2));
    assertThat(step.commit(batch, outputs(batch), GROUP)).isEmpty();

    MockProducer<byte[], byte[]> p = producers.get(0);
    assertThat(p.transactionCommitted()).isTrue();
    assertThat(p.commitCount()).isEqualTo(1);
    assertThat(p.history()).hasSize(3);
    assertThat(p.consumerGroupOffsetsHistory())
        .containsExactly(
            Map.of(
                "encode",
                Map.of(
                    new TopicPartition("in", 0), new OffsetAndMetadata(7, Optional.empty(), ""),
                    new TopicPartition("in", 1), new OffsetAndMetadata(3, Optional.empty(), ""))));
  }

  @Test
  void aFailedCommitIsReportedAndReCreatingTheProducerLeavesNothingCommitted() {
    step.open();
    producers.get(0).commitTransactionException = new TimeoutException("commit timed out");
    var batch = List.of(record(0, 0));
    Optional<TransactionStep.Failure> failure = step.commit(batch, outputs(batch), GROUP);
    assertThat(failure)
        .get()
        .extracting(TransactionStep.Failure::error)
        .isInstanceOf(TimeoutException.class);

    step.recreate();
    assertThat(producers.get(0).closed()).isTrue();
    assertThat(producers.get(0).history()).isEmpty();
    assertThat(producers.get(1).transactionInitialized()).isTrue();
    assertThat(step.commit(batch, outputs(batch), GROUP)).isEmpty();
    assertThat(producers.get(1).history()).hasSize(1);
  }

  @Test
  void anAbortDropsTheSends() {
    step.open();
    MockProducer<byte[], byte[]> p = producers.get(0);
    p.commitTransactionException = new org.apache.kafka.common.KafkaException("a send failed");
    var batch = List.of(record(0, 0));
    assertThat(step.commit(batch, outputs(batch), GROUP)).isPresent();
    step.abort();
    assertThat(p.transactionAborted()).isTrue();
    assertThat(p.history()).isEmpty();
    assertThat(producers).hasSize(1);
  }

  @Test
  void offsetsArePerPartitionOnePastTheLastRecord() {
    assertThat(TransactionStep.offsets(List.of(record(0, 9), record(0, 3))).keySet())
        .isEqualTo(Set.of(new TopicPartition("in", 0)));
    assertThat(
            TransactionStep.offsets(List.of(record(0, 9), record(0, 3)))
                .get(new TopicPartition("in", 0))
                .offset())
        .isEqualTo(10);
  }

  static ConsumerRecord<byte[], byte[]> record(int partition, long offset) {
    return new ConsumerRecord<>("in", partition, offset, new byte[0], ("v" + offset).getBytes());
  }

  static List<Output> outputs(List<ConsumerRecord<byte[], byte[]>> batch) {
    return batch.stream()
        .map(r -> new Output(r, new ProducerRecord<>("out", r.key(), r.value()), false, -1))
        .toList();
  }
}
