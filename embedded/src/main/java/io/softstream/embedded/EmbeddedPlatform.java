package io.softstream.embedded;

import io.softstream.registry.SchemaRegistryServer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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

  private EmbeddedPlatform(
      EmbeddedKafkaBroker broker,
      EmbeddedKafkaCluster cluster,
      SchemaRegistryServer registry,
      TopicLayout layout,
      TopicAdmin.Report topics) {
    this.broker = broker;
    this.cluster = cluster;
    this.registry = registry;
    this.layout = layout;
    this.topics = topics;
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
    EmbeddedKafkaBroker broker =
        EmbeddedKafkaBroker.builder()
            .dataDir(dataDir.resolve("kafka"))
            .optPort(brokerPort)
            .build()
            .start();
    try {
      TopicAdmin.Report report;
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        report = TopicAdmin.ensure(admin, layout.all());
      }
      SchemaRegistryServer registry =
          SchemaRegistryServer.builder()
              .setBootstrapServers(broker.bootstrapServers())
              .optTopic(layout.schemas())
              .optPort(registryPort)
              .build()
              .start();
      return new EmbeddedPlatform(broker, null, registry, layout, report);
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
      return new EmbeddedPlatform(null, cluster, registry, layout, report);
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

  /** {@code bootstrap.servers} and {@code schema.registry.url}, ready for clients and serdes. */
  public Map<String, Object> clientProperties() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("bootstrap.servers", bootstrapServers());
    p.put("schema.registry.url", schemaRegistryUrl());
    return p;
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
