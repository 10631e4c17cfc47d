package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class BatcherTest {
  private final FakeClock clock = new FakeClock();
  private final Batcher batcher = new Batcher(4, Duration.ofMillis(50), clock);

  @Test
  void aFullBatchIsDueAtOnce() {
    batcher.add(records(0, 3));
    assertThat(batcher.isDue()).isFalse();
    batcher.add(records(0, 1));
    assertThat(batcher.isDue()).isTrue();
    assertThat(batcher.take()).hasSize(4);
    assertThat(batcher.isEmpty()).isTrue();
    assertThat(batcher.isDue()).isFalse();
  }

  @Test
  void aLoneRecordIsDueWhenTheLingerHasPassedOnTheClock() {
    batcher.add(records(0, 1));
    clock.advance(Duration.ofMillis(30));
    batcher.add(records(0, 1)); // a later record does not restart the linger
    assertThat(batcher.isDue()).isFalse();
    assertThat(batcher.pollTimeout(Duration.ofMillis(500))).isEqualTo(Duration.ofMillis(20));
    clock.advance(Duration.ofMillis(20));
    assertThat(batcher.isDue()).isTrue();
    assertThat(batcher.pollTimeout(Duration.ofMillis(500))).isEqualTo(Duration.ofMillis(1));
  }

  @Test
  void anEmptyBatcherPollsForTheIdleTimeAndTheLingerStartsWithTheNextRecord() {
    assertThat(batcher.pollTimeout(Duration.ofMillis(500))).isEqualTo(Duration.ofMillis(500));
    batcher.add(records(0, 1));
    batcher.take();
    clock.advance(Duration.ofMinutes(1));
    batcher.add(records(0, 1));
    assertThat(batcher.isDue()).isFalse();
    assertThat(batcher.pollTimeout(Duration.ofMillis(500))).isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void takingPartitionsLeavesTheOthersInOrder() {
    batcher.add(List.of(record(0, 0), record(1, 0), record(0, 1), record(1, 1)));
    List<ConsumerRecord<byte[], byte[]>> taken = batcher.take(Set.of(new TopicPartition("in", 1)));
    assertThat(taken).extracting(ConsumerRecord::partition).containsExactly(1, 1);
    assertThat(batcher.take()).extracting(ConsumerRecord::offset).containsExactly(0L, 1L);
  }

  private static List<ConsumerRecord<byte[], byte[]>> records(int partition, int n) {
    return IntStream.range(0, n).mapToObj(i -> record(partition, i)).toList();
  }

  private static ConsumerRecord<byte[], byte[]> record(int partition, long offset) {
    return new ConsumerRecord<>("in", partition, offset, new byte[0], new byte[0]);
  }
}
