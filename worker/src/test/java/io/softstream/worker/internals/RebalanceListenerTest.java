package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RebalanceListenerTest {
  private static final TopicPartition P0 = new TopicPartition("in", 0);
  private static final TopicPartition P1 = new TopicPartition("in", 1);
  private final Batcher batcher = new Batcher(8, Duration.ofMillis(50), new FakeClock());
  private final List<List<ConsumerRecord<byte[], byte[]>>> commits = new ArrayList<>();
  private final List<Set<TopicPartition>> drops = new ArrayList<>();
  private boolean crashed;
  private final RebalanceListener listener =
      new RebalanceListener(
          "w1",
          batcher,
          new RebalanceListener.Committer() {
            @Override
            public boolean crashed() {
              return crashed;
            }

            @Override
            public void commitNow(List<ConsumerRecord<byte[], byte[]>> records) {
              commits.add(records);
            }

            @Override
            public void dropPending(Set<TopicPartition> lost) {
              drops.add(lost);
            }
          });

  @Test
  void revokedPartitionsHaveTheirBufferedRecordsCommittedFirstAndTheOthersStayBuffered() {
    batcher.add(List.of(record(0, 0), record(1, 0), record(0, 1)));
    listener.onPartitionsRevoked(List.of(P0));
    assertThat(commits).hasSize(1);
    assertThat(commits.get(0)).extracting(ConsumerRecord::offset).containsExactly(0L, 1L);
    assertThat(batcher.take()).extracting(ConsumerRecord::partition).containsExactly(1);
  }

  @Test
  void aRevocationWithNothingBufferedStillCommitsThePendingBatch() {
    listener.onPartitionsRevoked(List.of(P0));
    assertThat(commits).containsExactly(List.of());
  }

  @Test
  void afterACrashNothingIsCommitted() {
    crashed = true;
    batcher.add(List.of(record(0, 0)));
    listener.onPartitionsRevoked(List.of(P0));
    assertThat(commits).isEmpty();
  }

  @Test
  void lostPartitionsAreDroppedUncommitted() {
    batcher.add(List.of(record(0, 0), record(1, 0)));
    listener.onPartitionsLost(List.of(P1));
    assertThat(commits).isEmpty();
    assertThat(drops).containsExactly(Set.of(P1));
    assertThat(batcher.take()).extracting(ConsumerRecord::partition).containsExactly(0);
  }

  private static ConsumerRecord<byte[], byte[]> record(int partition, long offset) {
    return new ConsumerRecord<>("in", partition, offset, new byte[0], new byte[0]);
  }
}
