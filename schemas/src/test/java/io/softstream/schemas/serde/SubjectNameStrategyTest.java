package io.softstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.TokenRecord;
import org.junit.jupiter.api.Test;

class SubjectNameStrategyTest {
  @Test
  void namesFollowConfluentConventions() {
    var s = TokenRecord.getClassSchema();
    assertThat(SubjectNameStrategy.TOPIC.subject("tokens", false, s)).isEqualTo("tokens-value");
    assertThat(SubjectNameStrategy.TOPIC.subject("tokens", true, s)).isEqualTo("tokens-key");
    assertThat(SubjectNameStrategy.RECORD.subject("tokens", false, s))
        .isEqualTo("io.softstream.schemas.avro.TokenRecord");
    assertThat(SubjectNameStrategy.TOPIC_RECORD.subject("tokens", false, s))
        .isEqualTo("tokens-io.softstream.schemas.avro.TokenRecord");
  }

  @Test
  void parsesOurNamesAndConfluentClassNames() {
    assertThat(SubjectNameStrategy.parse("record")).isEqualTo(SubjectNameStrategy.RECORD);
    assertThat(
            SubjectNameStrategy.parse(
                "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"))
        .isEqualTo(SubjectNameStrategy.TOPIC_RECORD);
    assertThat(SubjectNameStrategy.parse("TopicNameStrategy")).isEqualTo(SubjectNameStrategy.TOPIC);
    assertThatThrownBy(() -> SubjectNameStrategy.parse("bogus"))
        .hasMessageContaining("accepted: topic, record");
  }
}
