package io.softstream.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Connection options shared by every command that talks to a cluster. */
public final class KafkaOptions {
  @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
      defaultValue = "${env:BOOTSTRAP_SERVERS:-localhost:9092}",
      description = "Kafka bootstrap servers (env BOOTSTRAP_SERVERS; default: ${DEFAULT-VALUE}).")
  String bootstrapServers;

  @Option(names = "--schema-registry-url", paramLabel = "URL",
      defaultValue = "${env:SCHEMA_REGISTRY_URL:-http://localhost:8081}",
      description = "Confluent-compatible schema registry (env SCHEMA_REGISTRY_URL; default: ${DEFAULT-VALUE}).")
  String schemaRegistryUrl;

  @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
      description = "Any Kafka client property, passed through (repeatable), e.g. security.protocol=SSL.")
  Map<String, String> kafkaProperties = new LinkedHashMap<>();

  /** Client properties: bootstrap servers, registry URL and every pass-through property. */
  public Map<String, Object> clientProperties() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("bootstrap.servers", bootstrapServers);
    p.put("schema.registry.url", schemaRegistryUrl);
    p.putAll(kafkaProperties);
    return p;
  }
}
