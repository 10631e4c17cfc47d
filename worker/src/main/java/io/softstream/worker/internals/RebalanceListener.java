package io.softstream.worker.internals;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every record committed once across rebalances. Before partitions are revoked, their
 * buffered records and the batch left pending are committed: the next owner starts from the
 * committed offsets. Lost partitions (the session expired; another worker may own them already) can
 * no longer be committed, so their records are dropped and the pending batch's other records
 * re-read. Runs on the loop thread, inside {@code poll}.
 */
final class RebalanceListener implements ConsumerRebalanceListener {
  private static final Logger log = LoggerFactory.getLogger(RebalanceListener.class);

  /** What the loop does for the listener. */
  interface Committer {
    /** True after a crash simulation: commit nothing more. */
    boolean crashed();

    /** Commits the pending batch, then {@code records} (may be empty). */
    void commitNow(List<ConsumerRecord<byte[], byte[]>> records);

    /** Drops the pending batch's records of {@code lost}, uncommitted, and re-reads its others. */
    void dropPending(Set<TopicPartition> lost);
  }

  private final String workerId;
  private final Batcher batcher;
  private final Committer committer;

  RebalanceListener(String workerId, Batcher batcher, Committer committer) {
    this.workerId = workerId;
    this.batcher = batcher;
    this.committer = committer;
  }

  @Override
  public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
    if (committer.crashed()) {
      return;
    }
    List<ConsumerRecord<byte[], byte[]>> mine = batcher.take(Set.copyOf(partitions));
    if (!mine.isEmpty()) {
      log.info(
          "Worker {}: committing {} buffered records of revoked partitions {}",
          workerId,
          mine.size(),
          partitions);
    }
    committer.commitNow(mine);
  }

  @Override
  public void onPartitionsLost(Collection<TopicPartition> partitions) {
    Set<TopicPartition> lost = Set.copyOf(partitions);
    batcher.take(lost);
    committer.dropPending(lost);
  }

  @Override
  public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
    log.info("Worker {}: assigned {}", workerId, partitions);
  }
}
