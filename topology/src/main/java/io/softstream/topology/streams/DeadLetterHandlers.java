package io.softstream.topology.streams;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.serde.TruncatedRecordException;
import io.softstream.schemas.serde.UnknownMagicByteException;
import io.softstream.schemas.serde.UnknownSchemaException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead letters for the Streams apps: the record's original bytes and coordinates, an error class
 * and the reason, as the workers write them. Never a crash loop on a bad record, never a silent
 * skip. A failure of the app or its dependencies is not a bad record ({@link #notTheRecord}): it
 * fails the task, and the uncaught exception handler replaces the thread, which retries from the
 * last commit; if that keeps failing the app stops (ERROR) and another instance takes the records.
 */
public final class DeadLetterHandlers {
  private static final Logger log = LoggerFactory.getLogger(DeadLetterHandlers.class);

  /** Dead letters above this are truncated, so that the dead-letter topic accepts every one. */
  static final int MAX_PAYLOAD = 10 * 1024 * 1024;

  private DeadLetterHandlers() {}

  /**
   * True when {@code e} says nothing about the record: the registry or broker unavailable
   * (retriable), or the registry refusing us (401, 403, 429, 5xx: an error answer other than the
   * unknown schema id, which is the record's), or Kafka denying our credentials. As the workers'
   * FailureClassifier: such a failure dead-letters nothing.
   */
  public static boolean notTheRecord(Throwable e) {
    return e instanceof RetriableException
        || e instanceof SchemaRegistryException
        || e instanceof AuthenticationException
        || e instanceof AuthorizationException;
  }

  /**
   * The workers' error class for bytes that could not be read as the expected Avro record:
   * NotConfluentAvro, UnknownSchemaId, TruncatedRecord, otherwise WrongSchema.
   */
  public static String unreadableClass(Throwable e) {
    return e instanceof UnknownMagicByteException
        ? "NotConfluentAvro"
        : e instanceof UnknownSchemaException
            ? "UnknownSchemaId"
            : e instanceof TruncatedRecordException ? "TruncatedRecord" : "WrongSchema";
  }

  /** A dead letter for the original record at {@code topic}-{@code partition}@{@code offset}. */
  public static DeadLetter deadLetter(
      String topic,
      int partition,
      long offset,
      byte[] key,
      byte[] value,
      String errorClass,
      String reason,
      String who,
      Instant time) {
    String why = reason;
    if (value != null && value.length > MAX_PAYLOAD) {
      why = reason + " [payload truncated from " + value.length + " to " + MAX_PAYLOAD + " bytes]";
      value = Arrays.copyOf(value, MAX_PAYLOAD);
    }
    return DeadLetter.newBuilder()
        .setOriginalTopic(topic)
        .setOriginalPartition(partition)
        .setOriginalOffset(offset)
        .setOriginalKey(key == null ? null : ByteBuffer.wrap(key))
        .setPayload(value == null ? null : ByteBuffer.wrap(value))
        .setErrorClass(errorClass)
        .setReason(why)
        .setWorkerId(who)
        .setTime(time)
        .build();
  }

  /** Shared by both handlers: the serializer and names from the Streams config. */
  abstract static class Base {
    String topic;
    String who;
    Serializer<DeadLetter> serializer;

    void setUp(Map<String, ?> configs) {
      topic = String.valueOf(configs.get(StreamsSettings.DEAD_LETTER_TOPIC));
      who = String.valueOf(configs.get(StreamsSettings.APP_NAME));
      serializer = new AvroSerializer<>(SchemaRegistryClients.create(configs), configs, false);
    }

    List<ProducerRecord<byte[], byte[]>> record(
        ErrorHandlerContext c, byte[] key, byte[] value, String errorClass, String reason) {
      log.warn(
          "dead letter {}-{}@{} ({}): {}",
          c.topic(),
          c.partition(),
          c.offset(),
          errorClass,
          reason);
      DeadLetter dl =
          deadLetter(
              c.topic(),
              c.partition(),
              c.offset(),
              key,
              value,
              errorClass,
              reason,
              who,
              Instant.now());
      RecordHeaders headers = new RecordHeaders();
      headers.add("error_class", errorClass.getBytes(StandardCharsets.UTF_8));
      return List.of(
          new ProducerRecord<>(
              topic, null, null, key, serializer.serialize(topic, headers, dl), headers));
    }
  }

  /** Records that cannot be deserialized: a dead letter with the workers' error class. */
  public static final class Deserialization extends Base
      implements DeserializationExceptionHandler {
    @Override
    public void configure(Map<String, ?> configs) {
      setUp(configs);
    }

    @Override
    public Response handleError(
        ErrorHandlerContext c, ConsumerRecord<byte[], byte[]> r, Exception e) {
      if (notTheRecord(e)) {
        log.warn("not a bad record, failing the task to retry it: {}", e.toString());
        return Response.fail();
      }
      return Response.resume(
          record(c, r.key(), r.value(), unreadableClass(e), String.valueOf(e.getMessage())));
    }
  }

  /** Exceptions thrown by a processor: the source record as a ProcessingFailure dead letter. */
  public static final class Processing extends Base implements ProcessingExceptionHandler {
    @Override
    public void configure(Map<String, ?> configs) {
      setUp(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext c, Record<?, ?> r, Exception e) {
      if (notTheRecord(e)) {
        log.warn("not a bad record, failing the task to retry it: {}", e.toString());
        return Response.fail();
      }
      return Response.resume(
          record(
              c,
              c.sourceRawKey(),
              c.sourceRawValue(),
              "ProcessingFailure",
              "Processor "
                  + c.processorNodeId()
                  + " failed: "
                  + e.getClass().getSimpleName()
                  + ": "
                  + e.getMessage()));
    }
  }
}
