package io.softstream.topology;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One topic as the system expects it.
 *
 * @param name full topic name (prefix applied)
 * @param partitions partition count; the unit of worker parallelism for input topics
 * @param replicationFactor replicas (capped at the cluster's broker count when created)
 * @param cleanupPolicy {@code delete} or {@code compact}
 * @param retentionMs retention for {@code delete} topics; -1 = forever
 * @param maxMessageBytes largest record batch the topic accepts
 * @param purpose one line for docs and error messages
 */
public record TopicSpec(
    String name,
    int partitions,
    short replicationFactor,
    String cleanupPolicy,
    long retentionMs,
    int maxMessageBytes,
    String purpose) {

  public TopicSpec {
    Objects.requireNonNull(name, "name");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1 for topic " + name);
    }
    if (!cleanupPolicy.equals("delete") && !cleanupPolicy.equals("compact")) {
      throw new IllegalArgumentException(
          "cleanup policy must be delete or compact for topic " + name);
    }
  }

  public boolean compacted() {
    return cleanupPolicy.equals("compact");
  }

  /** Topic-level configs to create the topic with. */
  public Map<String, String> configs() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("cleanup.policy", cleanupPolicy);
    c.put("max.message.bytes", Integer.toString(maxMessageBytes));
    if (!compacted()) {
      c.put("retention.ms", Long.toString(retentionMs));
    }
    if (replicationFactor > 1) {
      c.put("min.insync.replicas", "2");
    }
    return c;
  }

  public TopicSpec withPartitions(int n) {
    return new TopicSpec(
        name, n, replicationFactor, cleanupPolicy, retentionMs, maxMessageBytes, purpose);
  }
}
