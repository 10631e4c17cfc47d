package io.softstream.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real KRaft cluster of several broker processes (each a combined broker + controller and one of
 * the quorum's voters) as child JVMs from this process's classpath, for replication and failure
 * tests: internal topics with replication factor = brokers (at most 3) and {@code
 * min.insync.replicas} 2, so one broker may die without losing a write. Node {@code i} (1-based)
 * keeps its data in {@code dataDir/node-i}; the ports and the cluster id are recorded in {@code
 * dataDir/cluster.properties}, so {@link #kill(int)} (SIGKILL) then {@link #restart(int)} brings
 * the same node back on its data and ports, as a crashed and restarted machine.
 *
 * <p>Separate from {@link EmbeddedKafkaBroker} (the single-node default) so that each stays plain;
 * both start their node processes through {@link KafkaNodeProcess}.
 */
public final class EmbeddedKafkaCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaCluster.class);
  private static final String PORTS_FILE = "cluster.properties";

  private final Path dataDir;
  private final int size;
  private final Duration startTimeout;
  private final Map<String, String> overrides;
  private final List<KafkaNodeProcess> nodes;
  private final int[] ports;
  private final int[] controllerPorts;
  private String clusterId;
  private Thread shutdownHook;

  private EmbeddedKafkaCluster(Builder b) {
    this.dataDir = b.dataDir.toAbsolutePath();
    this.size = b.brokers;
    this.startTimeout = b.startTimeout;
    this.overrides = Map.copyOf(b.overrides);
    this.nodes =
        IntStream.rangeClosed(1, size)
            .mapToObj(i -> new KafkaNodeProcess(nodeDir(i), b.heap))
            .toList();
    this.ports = new int[size];
    this.controllerPorts = new int[size];
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder: {@code dataDir} is required; three brokers by default. */
  public static final class Builder {
    private Path dataDir;
    private int brokers = 3;
    private String heap = "384m";
    private Duration startTimeout = Duration.ofSeconds(300);
    private final Map<String, String> overrides = new LinkedHashMap<>();

    public Builder dataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    /** Number of broker processes (default 3). */
    public Builder optBrokers(int n) {
      this.brokers = n;
      return this;
    }

    /** Maximum heap of each broker JVM (default 384m: three share a small machine). */
    public Builder optHeap(String heap) {
      this.heap = heap;
      return this;
    }

    public Builder optStartTimeout(Duration t) {
      this.startTimeout = t;
      return this;
    }

    /** Any broker setting, applied to every node. */
    public Builder optBrokerProperty(String key, String value) {
      overrides.put(key, value);
      return this;
    }

    public EmbeddedKafkaCluster build() {
      if (dataDir == null) {
        throw new IllegalStateException("You must specify dataDir(...) for the embedded cluster");
      }
      if (brokers < 1) {
        throw new IllegalArgumentException("brokers must be at least 1, got " + brokers);
      }
      return new EmbeddedKafkaCluster(this);
    }
  }

  /** Formats new node directories, starts every node and waits until all are in the cluster. */
  public synchronized EmbeddedKafkaCluster start() {
    long t0 = System.nanoTime();
    try {
      Files.createDirectories(dataDir);
      choosePorts();
      for (int i = 1; i <= size; i++) {
        writeConfig(i);
      }
      // Formatting is a JVM start per node: run them side by side.
      Map<KafkaNodeProcess, Process> formats = new LinkedHashMap<>();
      for (int i = 1; i <= size; i++) {
        if (!KafkaNodeProcess.isFormatted(logDir(i))) {
          formats.put(node(i), node(i).startFormat(clusterId));
        }
      }
      formats.forEach(KafkaNodeProcess::awaitFormat);
      for (int i = 1; i <= size; i++) {
        node(i).launch();
      }
      shutdownHook = new Thread(this::stopAll, "embedded-kafka-cluster-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
      awaitNodes(
          IntStream.rangeClosed(1, size).boxed().collect(Collectors.toSet()), bootstrapServers());
      log.info(
          "Kafka cluster of {} brokers ready at {} (data {}) in {} ms",
          size,
          bootstrapServers(),
          dataDir,
          (System.nanoTime() - t0) / 1_000_000);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the embedded Kafka cluster in " + dataDir, e);
    }
  }

  /** Every node's client address, comma-separated: {@code bootstrap.servers} for clients. */
  public String bootstrapServers() {
    return IntStream.range(0, size)
        .mapToObj(i -> "127.0.0.1:" + ports[i])
        .collect(Collectors.joining(","));
  }

  public int size() {
    return size;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Whether node {@code node} (1-based) is running. */
  public synchronized boolean isRunning(int node) {
    return node(node).isRunning();
  }

  /** The process id of node {@code node}, e.g. for {@code kill -9}. */
  public synchronized long pid(int node) {
    return node(node).pid();
  }

  /**
   * SIGKILLs node {@code node}: no controlled shutdown, no flush, as a machine that loses power.
   */
  public synchronized void kill(int node) {
    if (!isRunning(node)) {
      return;
    }
    node(node).kill();
    log.info("Kafka node {} killed (SIGKILL)", node);
  }

  /** Starts node {@code node} again on its data directory and ports; waits until it is back. */
  public synchronized void restart(int node) {
    if (isRunning(node)) {
      return;
    }
    try {
      node(node).launch();
      // Asked through the node itself: the others may still list its old registration.
      awaitNodes(Set.of(node), "127.0.0.1:" + ports[node - 1]);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not restart Kafka node " + node, e);
    }
  }

  /** Stops every node (SIGTERM, all at once, killed after 30 s); the data directories stay. */
  @Override
  public synchronized void close() {
    stopAll();
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException ignored) {
        // JVM already shutting down: the hook runs anyway.
      }
      shutdownHook = null;
    }
  }

  private synchronized void stopAll() {
    nodes.forEach(KafkaNodeProcess::terminate);
    // The last nodes lose the quorum while shutting down and may wait for it: bound it.
    nodes.forEach(n -> n.awaitStop(Duration.ofSeconds(30)));
  }

  private void awaitNodes(Set<Integer> ids, String bootstrap) {
    Runnable checkAlive = () -> ids.forEach(n -> node(n).requireAlive("Kafka node " + n));
    if (!KafkaNodeProcess.awaitNodes(
        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
        ids,
        startTimeout,
        checkAlive)) {
      throw new IllegalStateException(
          "Kafka nodes "
              + ids
              + " did not join within "
              + startTimeout.toSeconds()
              + " s; logs under "
              + dataDir);
    }
  }

  private void choosePorts() throws IOException {
    Path f = dataDir.resolve(PORTS_FILE);
    Properties p = new Properties();
    if (Files.exists(f)) {
      try (var in = Files.newInputStream(f)) {
        p.load(in);
      }
      clusterId = p.getProperty("cluster.id");
      for (int i = 0; i < size; i++) {
        ports[i] = Integer.parseInt(p.getProperty("port." + (i + 1)));
        controllerPorts[i] = Integer.parseInt(p.getProperty("controller.port." + (i + 1)));
      }
      return;
    }
    clusterId = Uuid.randomUuid().toString();
    p.setProperty("cluster.id", clusterId);
    // Hold every socket until all are chosen, so no two nodes get the same port.
    List<ServerSocket> held = new ArrayList<>();
    Set<Integer> taken = EmbeddedKafkaBroker.portsIn(overrides);
    try {
      for (int i = 0; i < size; i++) {
        ports[i] = EmbeddedKafkaBroker.hold(held, taken);
        controllerPorts[i] = EmbeddedKafkaBroker.hold(held, taken);
        p.setProperty("port." + (i + 1), Integer.toString(ports[i]));
        p.setProperty("controller.port." + (i + 1), Integer.toString(controllerPorts[i]));
      }
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
    try (var out = Files.newOutputStream(f)) {
      p.store(out, "Ports and cluster id of the embedded Kafka cluster, reused on restart");
    }
  }

  private void writeConfig(int node) throws IOException {
    int replicas = Math.min(size, 3);
    String voters =
        IntStream.range(0, size)
            .mapToObj(i -> (i + 1) + "@127.0.0.1:" + controllerPorts[i])
            .collect(Collectors.joining(","));
    Map<String, String> c =
        KafkaNodeProcess.baseConfig(
            node, voters, ports[node - 1], controllerPorts[node - 1], logDir(node), replicas);
    c.put("default.replication.factor", Integer.toString(replicas));
    c.put("min.insync.replicas", Integer.toString(Math.min(replicas, 2)));
    // Fence a killed broker after 6 s (default 9 s), so leaders and the ISR move on sooner.
    c.put("broker.session.timeout.ms", "6000");
    c.put("broker.heartbeat.interval.ms", "1000");
    c.put("replica.fetch.max.bytes", Integer.toString(16 * 1024 * 1024));
    c.putAll(overrides);
    node(node).writeConfig(c, "EmbeddedKafkaCluster");
  }

  private Path nodeDir(int node) {
    return dataDir.resolve("node-" + node);
  }

  private Path logDir(int node) {
    return nodeDir(node).resolve("logs");
  }

  private KafkaNodeProcess node(int node) {
    return nodes.get(node - 1);
  }

  @Override
  public String toString() {
    return "EmbeddedKafkaCluster[" + bootstrapServers() + ", " + dataDir + "]";
  }
}
