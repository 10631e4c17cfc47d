package io.softstream.worker.internals;

import static io.softstream.worker.internals.FailureClassifier.Outcome.FATAL;
import static io.softstream.worker.internals.FailureClassifier.Outcome.POISON;
import static io.softstream.worker.internals.FailureClassifier.Outcome.RETRIABLE;
import static io.softstream.worker.internals.FailureClassifier.Outcome.SYSTEMIC;
import static io.softstream.worker.internals.FailureClassifier.Where.PROCESSING;
import static io.softstream.worker.internals.FailureClassifier.Where.SEND;
import static io.softstream.worker.internals.FailureClassifier.Where.TRANSACTION;
import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.serde.UnknownMagicByteException;
import io.softstream.schemas.serde.UnknownSchemaException;
import java.time.Duration;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

class FailureClassifierTest {
  private final FakeClock clock = new FakeClock();
  private final FailureClassifier classifier = new FailureClassifier(clock);

  @Test
  void onlyFailuresTheRecordCausesArePoisonTheWorkersOwnAreSystemic() {
    assertThat(
            classifier.classify(
                PROCESSING, new PoisonRecordException("UndecodableImage", "corrupt")))
        .isEqualTo(POISON);
    assertThat(classifier.classify(PROCESSING, new UnknownSchemaException("id 7", null)))
        .isEqualTo(POISON);
    assertThat(classifier.classify(PROCESSING, new TimeoutException("registry 503")))
        .isEqualTo(RETRIABLE);
    // Registry refusals, a serializer that cannot write, an engine fault: no record is to blame.
    assertThat(classifier.classify(PROCESSING, new AuthenticationException("registry 401")))
        .isEqualTo(SYSTEMIC);
    assertThat(classifier.classify(PROCESSING, new AuthorizationException("registry 403")))
        .isEqualTo(SYSTEMIC);
    assertThat(
            classifier.classify(
                PROCESSING, new SchemaRegistryException(429, 429, "too many requests")))
        .isEqualTo(SYSTEMIC);
    assertThat(classifier.classify(PROCESSING, new SerializationException("cannot serialize")))
        .isEqualTo(SYSTEMIC);
    assertThat(classifier.classify(PROCESSING, new IllegalStateException("engine fault")))
        .isEqualTo(SYSTEMIC);
  }

  @Test
  void anUnexplainedFailureIsTheRecordsOnlyIfOtherRecordsOfItsBatchWereProcessed() {
    RuntimeException odd = new IllegalArgumentException("bad shape");
    assertThat(classifier.mayBeTheRecords(odd)).isTrue();
    assertThat(classifier.classifyAlone(odd, true)).isEqualTo(POISON);
    assertThat(classifier.classifyAlone(odd, false)).isEqualTo(SYSTEMIC);
    RuntimeException refused = new AuthenticationException("registry 401");
    assertThat(classifier.mayBeTheRecords(refused)).isFalse();
    assertThat(classifier.classifyAlone(refused, true)).isEqualTo(SYSTEMIC);
  }

  @Test
  void readingARecordItsBytesAreToBlameButNotTheRegistrysAnswers() {
    assertThat(FailureClassifier.isBadRecord(new SerializationException("trailing bytes")))
        .isTrue();
    assertThat(FailureClassifier.isBadRecord(new UnknownMagicByteException((byte) 7, "value")))
        .isTrue();
    assertThat(FailureClassifier.isBadRecord(new SchemaRegistryException(429, 429, "slow down")))
        .isFalse();
    assertThat(FailureClassifier.isBadRecord(new AuthenticationException("401"))).isFalse();
    assertThat(FailureClassifier.isBadRecord(new TimeoutException("503"))).isFalse();
  }

  @Test
  void onlyOutputsTheBrokerWouldRefuseForeverArePoison() {
    assertThat(classifier.classify(SEND, new RecordTooLargeException("2 MB"))).isEqualTo(POISON);
    assertThat(classifier.classify(SEND, new SerializationException("x"))).isEqualTo(POISON);
    assertThat(classifier.classify(SEND, new NetworkException("x"))).isEqualTo(RETRIABLE);
    assertThat(classifier.classify(SEND, new KafkaException("x"))).isEqualTo(RETRIABLE);
  }

  @Test
  void transactionFailuresAreRetriedUnlessRetryingCannotHelp() {
    assertThat(classifier.classify(TRANSACTION, new TimeoutException("commit timed out")))
        .isEqualTo(RETRIABLE);
    assertThat(classifier.classify(TRANSACTION, new KafkaException("ambiguous")))
        .isEqualTo(RETRIABLE);
    assertThat(classifier.classify(TRANSACTION, new AuthorizationException("no WRITE on tokens")))
        .isEqualTo(FATAL);
    assertThat(classifier.classify(TRANSACTION, new UnsupportedVersionException("old broker")))
        .isEqualTo(FATAL);
  }

  @Test
  void aThirdFenceWithinAMinuteIsFatalAndAWrappedFenceCounts() {
    assertThat(classifier.classify(TRANSACTION, new ProducerFencedException("1")))
        .isEqualTo(RETRIABLE);
    clock.advance(Duration.ofSeconds(30));
    assertThat(
            classifier.classify(
                TRANSACTION, new KafkaException("send", new InvalidProducerEpochException("2"))))
        .isEqualTo(RETRIABLE);
    clock.advance(Duration.ofSeconds(29));
    assertThat(classifier.classify(TRANSACTION, new ProducerFencedException("3"))).isEqualTo(FATAL);
    assertThat(classifier.recentFences()).isEqualTo(3);
  }

  @Test
  void fencesFurtherApartThanAMinuteAreRecoveredFrom() {
    for (int i = 0; i < 5; i++) {
      assertThat(
              classifier.classify(
                  TRANSACTION, new ProducerFencedException("timed-out transaction")))
          .isEqualTo(RETRIABLE);
      clock.advance(Duration.ofSeconds(31));
    }
  }
}
