package io.softstream.embedded;

import io.softstream.registry.SchemaRegistryServer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.access.AccessPolicy.Role;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;

/**
 * The embedded default: a single-node KRaft broker, the schema registry (stored in the broker's
 * {@code _schemas} topic) and every declared topic. What the demo, {@code softstream kafka} and the
 * integration tests run on.
 */
public final class EmbeddedPlatform implements AutoCloseable {
  private final EmbeddedKafkaBroker broker;
  private final EmbeddedKafkaCluster cluster;
  private final SchemaRegistryServer registry;
  private final TopicLayout layout;
  private final TopicAdmin.Report topics;
  private final SecureSetup secure;

  private EmbeddedPlatform(
      EmbeddedKafkaBroker broker,
      EmbeddedKafkaCluster cluster,
      SchemaRegistryServer registry,
      TopicLayout layout,
      TopicAdmin.Report topics,
      SecureSetup secure) {
    this.broker = broker;
    this.cluster = cluster;
    this.registry = registry;
    this.layout = layout;
    this.topics = topics;
    this.secure = secure;
  }

  /**
   * Starts (or restarts, keeping all data) the broker in {@code dataDir}, creates the topics of
   * {@code layout} and starts the registry on {@code registryPort} (0 = any free port).
   */
  public static EmbeddedPlatform start(Path dataDir, int registryPort, TopicLayout layout) {
    return start(dataDir, 0, registryPort, layout);
  }

  /**
   * As {@link #start(Path, int, TopicLayout)} with the broker's client port ({@code 0} = a free one
   * on first start, then the recorded one).
   */
  public static EmbeddedPlatform start(
      Path dataDir, int brokerPort, int registryPort, TopicLayout layout) {
    return start(dataDir, brokerPort, registryPort, layout, null);
  }

  /**
   * As {@link #start(Path, int, int, TopicLayout)} in secure mode ({@link SecureSetup}, kept in
   * {@code dataDir/secure}): clients connect with SASL/SCRAM over TLS as one of the {@link
   * io.softstream.topology.access.AccessPolicy.Role}s ({@link #clientProperties(Role)}), which hold
   * the ACLs of {@code layout}; the registry answers over HTTPS to authenticated clients only.
   */
  public static EmbeddedPlatform startSecure(
      Path dataDir, int brokerPort, int registryPort, TopicLayout layout) {
    return start(
        dataDir, brokerPort, registryPort, layout, SecureSetup.prepare(dataDir.resolve("secure")));
  }

  private static EmbeddedPlatform start(
      Path dataDir, int brokerPort, int registryPort, TopicLayout layout, SecureSetup secure) {
    EmbeddedKafkaBroker.Builder b =
        EmbeddedKafkaBroker.builder().dataDir(dataDir.resolve("kafka")).optPort(brokerPort);
    if (secure != null) {
      secure.brokerProperties().forEach(b::optBrokerProperty);
      b.optReadinessClient(secure.adminProperties());
    }
    EmbeddedKafkaBroker broker = b.build().start();
    try {
      TopicAdmin.Report report;
      Map<String, Object> adminProps =
          secure != null
              ? secure.adminProperties()
              : Map.of("bootstrap.servers", broker.bootstrapServers());
      try (Admin admin = Admin.create(adminProps)) {
        report = TopicAdmin.ensure(admin, layout.all());
        if (secure != null) {
          secure.grant(admin, layout);
        }
      }
      SchemaRegistryServer.Builder rb =
          SchemaRegistryServer.builder()
              .setBootstrapServers(broker.bootstrapServers())
              .optTopic(layout.schemas())
              .optPort(registryPort);
      if (secure != null) {
        rb.optKafkaConfig(secure.clientProperties(Role.REGISTRY))
            .optTls(secure.serverSslContext())
            .optBasicAuth(secure.users());
      }
      SchemaRegistryServer registry = rb.build().start();
      return new EmbeddedPlatform(broker, null, registry, layout, report, secure);
    } catch (IOException e) {
      broker.close();
      throw new UncheckedIOException(
          "Could not start the schema registry on port "
              + registryPort
              + " (is it taken? use 0 for any free port)",
          e);
    } catch (RuntimeException e) {
      broker.close();
      throw e;
    }
  }

  /**
   * As {@link #start(Path, int, TopicLayout)} on a KRaft cluster of {@code brokers} broker
   * processes ({@link EmbeddedKafkaCluster}, data in {@code dataDir/kafka-cluster}); the topics get
   * {@code layout}'s replication factor (use {@code layout.withReplication(3)}).
   */
  public static EmbeddedPlatform startCluster(
      Path dataDir, int brokers, int registryPort, TopicLayout layout) {
    EmbeddedKafkaCluster cluster =
        EmbeddedKafkaCluster.builder()
            .dataDir(dataDir.resolve("kafka-cluster"))
            .optBrokers(brokers)
            .build()
            .start();
    try {
      TopicAdmin.Report report;
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
        report = TopicAdmin.ensure(admin, layout.all());
      }
      SchemaRegistryServer registry =
          SchemaRegistryServer.builder()
              .setBootstrapServers(cluster.bootstrapServers())
              .optTopic(layout.schemas())
              .optPort(registryPort)
              .build()
              .start();
      return new EmbeddedPlatform(null, cluster, registry, layout, report, null);
    } catch (IOException e) {
      cluster.close();
      throw new UncheckedIOException(
          "Could not start the schema registry on port " + registryPort, e);
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  public String bootstrapServers() {
    return cluster != null ? cluster.bootstrapServers() : broker.bootstrapServers();
  }

  public String schemaRegistryUrl() {
    return registry.url();
  }

  public TopicLayout layout() {
    return layout;
  }

  /** The single broker; null on a cluster (see {@link #cluster()}). */
  public EmbeddedKafkaBroker broker() {
    return broker;
  }

  /** The broker cluster of {@link #startCluster}; null on a single broker. */
  public EmbeddedKafkaCluster cluster() {
    return cluster;
  }

  /** What the topic step did at start. */
  public TopicAdmin.Report topics() {
    return topics;
  }

  /**
   * {@code bootstrap.servers} and {@code schema.registry.url}, ready for clients and serdes; in
   * secure mode also the TLS trust settings, but no principal (see {@link
   * #clientProperties(Role)}).
   */
  public Map<String, Object> clientProperties() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("bootstrap.servers", bootstrapServers());
    p.put("schema.registry.url", schemaRegistryUrl());
    if (secure != null) {
      p.putAll(secure.trustOnly());
    }
    return p;
  }

  /**
   * {@link #clientProperties()} with {@code role}'s credentials in secure mode (SCRAM login and the
   * registry's basic auth); the same as {@link #clientProperties()} otherwise.
   */
  public Map<String, Object> clientProperties(Role role) {
    Map<String, Object> p = clientProperties();
    if (secure != null) {
      p.putAll(secure.clientProperties(role));
    }
    return p;
  }

  /**
   * Admin settings with every right (creating topics, ACLs): plain bootstrap, or in secure mode the
   * broker's own certificate on its internal listener.
   */
  public Map<String, Object> adminProperties() {
    return secure != null
        ? secure.adminProperties()
        : new LinkedHashMap<>(Map.of("bootstrap.servers", bootstrapServers()));
  }

  /** The secure setup, or empty for a plain platform. */
  public Optional<SecureSetup> security() {
    return Optional.ofNullable(secure);
  }

  /** Stops the registry, then the broker (cleanly); the data directory stays for the next start. */
  @Override
  public void close() {
    try {
      registry.close();
    } finally {
      if (cluster != null) {
        cluster.close();
      } else {
        broker.close();
      }
    }
  }
}
