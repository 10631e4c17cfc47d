package io.softstream.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Connection options shared by every command that talks to a cluster. The fields stay null unless
 * given on the command line, so that a flag beats the environment, which beats a worker's {@code
 * --config} file, which beats the {@code --client-config} file.
 */
public final class KafkaOptions {
  static final String DEFAULT_BOOTSTRAP_SERVERS = "localhost:9092";
  static final String DEFAULT_SCHEMA_REGISTRY_URL = "http://localhost:8081";

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT",
      description =
          "Kafka bootstrap servers (env BOOTSTRAP_SERVERS; default: "
              + DEFAULT_BOOTSTRAP_SERVERS
              + ").")
  String bootstrapServers;

  @Option(
      names = "--schema-registry-url",
      paramLabel = "URL",
      description =
          "Confluent-compatible schema registry (env SCHEMA_REGISTRY_URL; default: "
              + DEFAULT_SCHEMA_REGISTRY_URL
              + ").")
  String schemaRegistryUrl;

  @Option(
      names = "--client-config",
      paramLabel = "FILE",
      description =
          "Properties file of client settings (security, SASL, TLS, registry auth), e.g. one that "
              + "softstream kafka --secure wrote for a role (env SOFTSTREAM_CLIENT_CONFIG); "
              + "the environment and flags win over it.")
  Path clientConfig;

  @Option(
      names = "--kafka-property",
      paramLabel = "KEY=VALUE",
      description =
          "Any Kafka client property, passed through (repeatable), e.g. security.protocol=SSL.")
  Map<String, String> kafkaProperties = new LinkedHashMap<>();

  /** The lowest layer: the defaults. */
  static Map<String, Object> defaults() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("bootstrap.servers", DEFAULT_BOOTSTRAP_SERVERS);
    p.put("schema.registry.url", DEFAULT_SCHEMA_REGISTRY_URL);
    return p;
  }

  /**
   * The client-settings file layer: {@code --client-config}, else {@code SOFTSTREAM_CLIENT_CONFIG};
   * a worker's own {@code --config} file sits above it.
   */
  Map<String, Object> fromFile() throws IOException {
    String env = Settings.env("SOFTSTREAM_CLIENT_CONFIG");
    Path f =
        clientConfig != null ? clientConfig : env == null || env.isBlank() ? null : Path.of(env);
    return Settings.file(f);
  }

  /** The environment layer: the keys whose variable is set. */
  Map<String, Object> fromEnvironment() {
    Map<String, Object> p = new LinkedHashMap<>();
    Settings.putIfSet(p, "bootstrap.servers", Settings.env("BOOTSTRAP_SERVERS"));
    Settings.putIfSet(p, "schema.registry.url", Settings.env("SCHEMA_REGISTRY_URL"));
    return p;
  }

  /** The top layer: what the command line gave. */
  Map<String, Object> fromFlags() {
    Map<String, Object> p = new LinkedHashMap<>();
    Settings.putIfSet(p, "bootstrap.servers", bootstrapServers);
    Settings.putIfSet(p, "schema.registry.url", schemaRegistryUrl);
    p.putAll(kafkaProperties);
    return p;
  }

  /** Client properties: bootstrap servers, registry URL and every pass-through property. */
  public Map<String, Object> clientProperties() {
    Map<String, Object> p = defaults();
    try {
      p.putAll(fromFile());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not read the client settings file: " + e.getMessage(), e);
    }
    p.putAll(fromEnvironment());
    p.putAll(fromFlags());
    return p;
  }
}
