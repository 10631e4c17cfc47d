package io.softstream.schemas.serde;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * Settings of the Avro serde. Key names are Confluent's, so an existing serializer config works
 * unchanged. Unknown keys (registry auth, timeouts) are passed on to the registry client.
 */
public class AvroSerdeConfig extends AbstractConfig {
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  public static final String USE_LATEST_VERSION = "use.latest.version";
  public static final String KEY_SUBJECT_NAME_STRATEGY = "key.subject.name.strategy";
  public static final String VALUE_SUBJECT_NAME_STRATEGY = "value.subject.name.strategy";
  public static final String SPECIFIC_AVRO_READER = "specific.avro.reader";

  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              SCHEMA_REGISTRY_URL,
              Type.STRING,
              ConfigDef.NO_DEFAULT_VALUE,
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Comma-separated registry URLs (http://host:port), or mock://scope for an "
                  + "in-memory registry in tests.")
          .define(
              AUTO_REGISTER_SCHEMAS,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Register the record's schema under its subject when serializing. When false, the schema must "
                  + "already be registered (looked up, or the latest version with use.latest.version).")
          .define(
              USE_LATEST_VERSION,
              Type.BOOLEAN,
              false,
              Importance.LOW,
              "With auto.register.schemas=false: write with the subject's latest registered schema id.")
          .define(
              KEY_SUBJECT_NAME_STRATEGY,
              Type.STRING,
              "topic",
              Importance.MEDIUM,
              "Subject naming for keys: topic, record or topic_record (Confluent class names accepted).")
          .define(
              VALUE_SUBJECT_NAME_STRATEGY,
              Type.STRING,
              "topic",
              Importance.MEDIUM,
              "Subject naming for values: topic, record or topic_record (Confluent class names accepted).")
          .define(
              SPECIFIC_AVRO_READER,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Deserialize into the generated SpecificRecord class of the writer's record name when it is on "
                  + "the classpath; false gives GenericRecord.");

  public AvroSerdeConfig(Map<?, ?> props) {
    super(CONFIG, props);
    try {
      SubjectNameStrategy.parse(getString(KEY_SUBJECT_NAME_STRATEGY));
      SubjectNameStrategy.parse(getString(VALUE_SUBJECT_NAME_STRATEGY));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  public SubjectNameStrategy subjectNameStrategy(boolean isKey) {
    return SubjectNameStrategy.parse(
        getString(isKey ? KEY_SUBJECT_NAME_STRATEGY : VALUE_SUBJECT_NAME_STRATEGY));
  }

  public static ConfigDef configDef() {
    return new ConfigDef(CONFIG);
  }
}
