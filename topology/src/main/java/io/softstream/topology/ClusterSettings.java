package io.softstream.topology;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The settings every runnable that talks to our cluster declares — where the brokers and the
 * registry are, and the topic prefix — defined once for the workers' {@code WorkerConfig} and the
 * Streams apps' {@code StreamsSettings}. Kafka's and Confluent's key names.
 */
public final class ClusterSettings {
  public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String TOPIC_PREFIX = "topic.prefix";

  private ClusterSettings() {}

  /** Adds the three keys to {@code def} and returns it. */
  public static ConfigDef define(ConfigDef def) {
    return def.define(
            BOOTSTRAP_SERVERS,
            Type.STRING,
            ConfigDef.NO_DEFAULT_VALUE,
            new ConfigDef.NonEmptyString(),
            Importance.HIGH,
            "Kafka bootstrap servers.")
        .define(
            SCHEMA_REGISTRY_URL,
            Type.STRING,
            ConfigDef.NO_DEFAULT_VALUE,
            new ConfigDef.NonEmptyString(),
            Importance.HIGH,
            "Confluent-compatible schema registry URL(s); mock://scope in tests.")
        .define(
            TOPIC_PREFIX,
            Type.STRING,
            "",
            Importance.LOW,
            "Prefix of every topic name (see TopicLayout) and of the Streams apps' application.id.");
  }
}
