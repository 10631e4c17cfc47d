package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Buffers consumed records into micro-batches. A batch is due once it holds {@code maxRecords}, or
 * once {@code linger} has passed on the clock since its first record arrived: under load batches
 * fill at once, when idle a lone record waits at most {@code linger}. Loop thread only.
 */
final class Batcher {
  private final int maxRecords;
  private final Duration linger;
  private final Clock clock;
  private final List<ConsumerRecord<byte[], byte[]>> buffer = new ArrayList<>();
  private long firstMillis;

  Batcher(int maxRecords, Duration linger, Clock clock) {
    if (maxRecords < 1) {
      throw new IllegalArgumentException("maxRecords must be at least 1, was " + maxRecords);
    }
    this.maxRecords = maxRecords;
    this.linger = linger;
    this.clock = clock;
  }

  int maxRecords() {
    return maxRecords;
  }

  void add(Iterable<ConsumerRecord<byte[], byte[]>> records) {
    for (ConsumerRecord<byte[], byte[]> r : records) {
      if (buffer.isEmpty()) {
        firstMillis = clock.millis();
      }
      buffer.add(r);
    }
  }

  boolean isEmpty() {
    return buffer.isEmpty();
  }

  int size() {
    return buffer.size();
  }

  /** Full, or the first record has waited {@code linger}. */
  boolean isDue() {
    return buffer.size() >= maxRecords || (!buffer.isEmpty() && lingered() >= linger.toMillis());
  }

  /**
   * How long the next poll may block: {@code idle} when empty, else what is left of the linger (at
   * least 1 ms).
   */
  Duration pollTimeout(Duration idle) {
    return buffer.isEmpty() ? idle : Duration.ofMillis(Math.max(1, linger.toMillis() - lingered()));
  }

  /** Everything buffered, in arrival order; the buffer is then empty. */
  List<ConsumerRecord<byte[], byte[]>> take() {
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(buffer);
    buffer.clear();
    return all;
  }

  /** Removes and returns the buffered records of {@code partitions}; the others stay, in order. */
  List<ConsumerRecord<byte[], byte[]>> take(Set<TopicPartition> partitions) {
    List<ConsumerRecord<byte[], byte[]>> taken = new ArrayList<>();
    buffer.removeIf(
        r -> {
          boolean match = partitions.contains(new TopicPartition(r.topic(), r.partition()));
          if (match) {
            taken.add(r);
          }
          return match;
        });
    // The first record's arrival time is kept: the rest have waited at least as long as a new first
    // one would have.
    return taken;
  }

  private long lingered() {
    return clock.millis() - firstMillis;
  }
}
