package io.softstream.worker.internals;

import io.softstream.schemas.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serializer;

/** Builds dead-letter records: the original bytes untouched, its coordinates and the reason. */
public final class DeadLetters {
  private final String topic;
  private final String workerId;
  private final Serializer<DeadLetter> serializer;
  private final Clock clock;
  private final int maxPayloadBytes;

  /**
   * @param maxPayloadBytes originals above this are truncated in the dead letter (the reason says
   *     so): the dead-letter topic must accept every dead letter, or a too-large poison pill would
   *     block its partition
   */
  public DeadLetters(
      String topic,
      String workerId,
      Serializer<DeadLetter> serializer,
      Clock clock,
      int maxPayloadBytes) {
    this.topic = topic;
    this.workerId = workerId;
    this.serializer = serializer;
    this.clock = clock;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  public String topic() {
    return topic;
  }

  /** A dead letter for {@code source} with this error type and reason, keyed like the original. */
  public ProducerRecord<byte[], byte[]> of(
      ConsumerRecord<byte[], byte[]> source, String errorClass, String reason) {
    byte[] payload = source.value();
    String why = reason;
    if (payload != null && payload.length > maxPayloadBytes) {
      why =
          reason
              + " [payload truncated from "
              + payload.length
              + " to "
              + maxPayloadBytes
              + " bytes]";
      payload = Arrays.copyOf(payload, maxPayloadBytes);
    }
    DeadLetter dl =
        DeadLetter.newBuilder()
            .setOriginalTopic(source.topic())
            .setOriginalPartition(source.partition())
            .setOriginalOffset(source.offset())
            .setOriginalKey(source.key() == null ? null : ByteBuffer.wrap(source.key()))
            .setPayload(payload == null ? null : ByteBuffer.wrap(payload))
            .setErrorClass(errorClass)
            .setReason(why)
            .setWorkerId(workerId)
            .setTime(clock.instant())
            .build();
    RecordHeaders headers = new RecordHeaders();
    headers.add("error_class", errorClass.getBytes(StandardCharsets.UTF_8));
    return new ProducerRecord<>(
        topic, null, null, source.key(), serializer.serialize(topic, headers, dl), headers);
  }

  /** A dead letter from an exception: poison records keep their class, others are named by type. */
  public ProducerRecord<byte[], byte[]> of(ConsumerRecord<byte[], byte[]> source, Throwable e) {
    if (e instanceof PoisonRecordException p) {
      return of(source, p.errorClass(), p.getMessage());
    }
    return of(source, "ProcessingFailure", e.getClass().getSimpleName() + ": " + e.getMessage());
  }
}
