package io.softstream.topology.streams.stats;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * One window's statistic for one key: a count and, for token records, a latency histogram. Values
 * below 1000 ms are kept exactly; larger ones rounded to 3 significant digits (at most 0.5 % off),
 * so a window holds at most a few thousand distinct values however many records it counts.
 */
public final class Stat {
  /** Bumped on any change of the byte layout; older layouts are refused, never guessed at. */
  static final byte VERSION = 1;

  private long count;
  private final TreeMap<Long, Long> latencies = new TreeMap<>();

  public long count() {
    return count;
  }

  /** Number of latency samples (token records with an event time). */
  public long latencySamples() {
    return latencies.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Counts one record; {@code latencyMs < 0} means it has no latency. */
  Stat add(long latencyMs) {
    count++;
    if (latencyMs >= 0) {
      latencies.merge(bucket(latencyMs), 1L, Long::sum);
    }
    return this;
  }

  static long bucket(long ms) {
    if (ms < 1000) {
      return ms;
    }
    long scale = 1;
    while (ms / scale >= 1000) {
      scale *= 10;
    }
    return Math.round((double) ms / scale) * scale;
  }

  /**
   * The nearest-rank percentile of the latencies in ms ({@code p} in (0, 100]): the smallest value
   * with at least {@code p}% of the samples at or below it; -1 with no samples.
   */
  public long percentile(double p) {
    long n = latencySamples();
    if (n == 0) {
      return -1;
    }
    long rank = Math.max(1, (long) Math.ceil(p / 100.0 * n));
    long seen = 0;
    for (Map.Entry<Long, Long> e : latencies.entrySet()) {
      seen += e.getValue();
      if (seen >= rank) {
        return e.getKey();
      }
    }
    return latencies.lastKey();
  }

  static final Serde<Stat> SERDE =
      Serdes.serdeFrom(
          (topic, s) -> s == null ? null : s.toBytes(),
          (topic, b) -> b == null ? null : fromBytes(b));

  byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 + latencies.size() * 16);
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(VERSION);
      out.writeLong(count);
      out.writeInt(latencies.size());
      for (Map.Entry<Long, Long> e : latencies.entrySet()) {
        out.writeLong(e.getKey());
        out.writeLong(e.getValue());
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Stat fromBytes(byte[] b) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
      byte v = in.readByte();
      if (v != VERSION) {
        throw new SerializationException(
            "Unsupported stats state version "
                + v
                + " (this build reads "
                + VERSION
                + "): reset the stats app (kafka-streams-application-reset) to start afresh");
      }
      Stat s = new Stat();
      s.count = in.readLong();
      int n = in.readInt();
      for (int i = 0; i < n; i++) {
        s.latencies.put(in.readLong(), in.readLong());
      }
      return s;
    } catch (IOException e) {
      throw new SerializationException("Truncated stats state (" + b.length + " bytes)", e);
    }
  }
}
