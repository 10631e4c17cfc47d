package io.softstream.topology.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.registry.SchemaRegistryException;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler.Result;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.processor.TaskId;
import org.junit.jupiter.api.Test;

/** A record's fault is a dead letter; the registry refusing the app is not (issue #17). */
class DeadLetterHandlersTest {
  final DeadLetterHandlers.Deserialization handler = new DeadLetterHandlers.Deserialization();
  final ConsumerRecord<byte[], byte[]> record =
      new ConsumerRecord<>("image-ingest", 2, 41L, "k".getBytes(), new byte[] {0, 0, 0, 0, 7});

  DeadLetterHandlersTest() {
    handler.configure(
        Map.of(
            StreamsSettings.DEAD_LETTER_TOPIC,
            "dead-letters",
            StreamsSettings.APP_NAME,
            "ingest",
            "schema.registry.url",
            "mock://dead-letter-handlers"));
  }

  @Test
  void aRecordThatDoesNotFitTheSchemaIsOneDeadLetter() {
    var r = handler.handleError(context(), record, new SerializationException("bad bytes"));
    assertThat(r.result()).isEqualTo(Result.RESUME);
    assertThat(r.deadLetterQueueRecords()).hasSize(1);
    assertThat(r.deadLetterQueueRecords().get(0).topic()).isEqualTo("dead-letters");
  }

  @Test
  void theRegistryRefusingUsOrBeingAwayDeadLettersNothing() {
    for (Exception e :
        new Exception[] {
          new SchemaRegistryException(401, 40101, "Unauthorized"),
          new SchemaRegistryException(429, 42901, "Too many requests"),
          new TimeoutException("registry away")
        }) {
      var r = handler.handleError(context(), record, e);
      assertThat(r.result()).as(e.toString()).isEqualTo(Result.FAIL);
      assertThat(r.deadLetterQueueRecords()).as(e.toString()).isEmpty();
    }
  }

  static ErrorHandlerContext context() {
    return new ErrorHandlerContext() {
      public String topic() {
        return "image-ingest";
      }

      public int partition() {
        return 2;
      }

      public long offset() {
        return 41L;
      }

      public Headers headers() {
        return new RecordHeaders();
      }

      public String processorNodeId() {
        return "source";
      }

      public TaskId taskId() {
        return new TaskId(0, 2);
      }

      public long timestamp() {
        return 0L;
      }

      public byte[] sourceRawKey() {
        return "k".getBytes();
      }

      public byte[] sourceRawValue() {
        return new byte[] {0, 0, 0, 0, 7};
      }
    };
  }
}
