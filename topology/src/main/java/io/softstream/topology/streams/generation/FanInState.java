package io.softstream.topology.streams.generation;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.BitSet;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * What the fan-in knows about one request, as kept in its state store (and so its changelog).
 * Mutable, and only ever touched by the one stream thread owning the request's task.
 *
 * <p>{@code expected < 0} means images arrived before their request did (an "orphan" entry).
 */
final class FanInState {
  /** Bumped on any change of the byte layout; older layouts are refused, never guessed at. */
  static final byte VERSION = 1;

  int expected;
  int jobs;
  long requestedMs;
  long deadlineMs;
  long firstImageMs = -1;
  long lastImageMs = -1;
  int duplicates;
  int late;
  boolean done;
  long doneMs;
  BitSet received = new BitSet();

  static FanInState orphan(long deadlineMs) {
    FanInState s = new FanInState();
    s.expected = -1;
    s.deadlineMs = deadlineMs;
    return s;
  }

  boolean complete() {
    return expected >= 0 && received.cardinality() == expected;
  }

  static final Serde<FanInState> SERDE =
      Serdes.serdeFrom(
          (topic, s) -> s == null ? null : s.toBytes(),
          (topic, b) -> b == null ? null : fromBytes(b));

  byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(VERSION);
      out.writeInt(expected);
      out.writeInt(jobs);
      out.writeLong(requestedMs);
      out.writeLong(deadlineMs);
      out.writeLong(firstImageMs);
      out.writeLong(lastImageMs);
      out.writeInt(duplicates);
      out.writeInt(late);
      out.writeBoolean(done);
      out.writeLong(doneMs);
      byte[] bits = received.toByteArray();
      out.writeInt(bits.length);
      out.write(bits);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static FanInState fromBytes(byte[] b) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
      byte v = in.readByte();
      if (v != VERSION) {
        throw new SerializationException(
            "Unsupported fan-in state version "
                + v
                + " (this build reads "
                + VERSION
                + "): the generation app's store was written by another build; run that build or"
                + " reset the app (kafka-streams-application-reset) to start its state afresh");
      }
      FanInState s = new FanInState();
      s.expected = in.readInt();
      s.jobs = in.readInt();
      s.requestedMs = in.readLong();
      s.deadlineMs = in.readLong();
      s.firstImageMs = in.readLong();
      s.lastImageMs = in.readLong();
      s.duplicates = in.readInt();
      s.late = in.readInt();
      s.done = in.readBoolean();
      s.doneMs = in.readLong();
      byte[] bits = new byte[in.readInt()];
      in.readFully(bits);
      s.received = BitSet.valueOf(bits);
      return s;
    } catch (IOException e) {
      throw new SerializationException("Truncated fan-in state (" + b.length + " bytes)", e);
    }
  }
}
