package io.softstream.schemas.serde;

import java.util.Locale;
import org.apache.avro.Schema;

/** How a subject name is derived, as Confluent's strategies of the same names do. */
public enum SubjectNameStrategy {
  /** {@code <topic>-key} / {@code <topic>-value}: one schema per topic (default). */
  TOPIC,
  /**
   * The record's full name, e.g. {@code io.softstream.schemas.avro.ImageEvent}: many types per
   * topic.
   */
  RECORD,
  /** {@code <topic>-<full record name>}. */
  TOPIC_RECORD;

  /** The subject for a record of {@code schema} on {@code topic}. */
  public String subject(String topic, boolean isKey, Schema schema) {
    return switch (this) {
      case TOPIC -> topic + (isKey ? "-key" : "-value");
      case RECORD -> schema.getFullName();
      case TOPIC_RECORD -> topic + "-" + schema.getFullName();
    };
  }

  /**
   * Parses {@code topic}, {@code record}, {@code topic_record}, or Confluent's class names ({@code
   * io.confluent.kafka.serializers.subject.RecordNameStrategy}), so existing configs work.
   */
  public static SubjectNameStrategy parse(String value) {
    String v = value.trim();
    int dot = v.lastIndexOf('.');
    if (dot >= 0) {
      v = v.substring(dot + 1);
    }
    v =
        v.replace("NameStrategy", "")
            .replaceAll("([a-z])([A-Z])", "$1_$2")
            .toUpperCase(Locale.ROOT);
    for (SubjectNameStrategy s : values()) {
      if (s.name().equals(v)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "Unknown subject name strategy '"
            + value
            + "'; accepted: topic, record, topic_record (or Confluent's TopicNameStrategy, RecordNameStrategy, "
            + "TopicRecordNameStrategy class names)");
  }
}
