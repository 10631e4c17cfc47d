package io.softstream.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
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
 * <p>Separate from {@link EmbeddedKafkaBroker} (the single-node default) so that each stays plain.
 */
public final class EmbeddedKafkaCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaCluster.class);
  private static final String PORTS_FILE = "cluster.properties";

  private final Path dataDir;
  private final int size;
  private final String heap;
  private final Duration startTimeout;
  private final Map<String, String> overrides;
  private final Process[] processes;
  private final int[] ports;
  private final int[] controllerPorts;
  private String clusterId;
  private Thread shutdownHook;

  private EmbeddedKafkaCluster(Builder b) {
    this.dataDir = b.dataDir.toAbsolutePath();
    this.size = b.brokers;
    this.heap = b.heap;
    this.startTimeout = b.startTimeout;
    this.overrides = Map.copyOf(b.overrides);
    this.processes = new Process[size];
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
      List<Path> configs = new ArrayList<>();
      for (int i = 1; i <= size; i++) {
        configs.add(writeConfig(i));
      }
      // Formatting is a JVM start per node: run them side by side.
      List<Process> formats = new ArrayList<>();
      for (int i = 1; i <= size; i++) {
        if (!Files.exists(logDir(i).resolve("meta.properties"))) {
          formats.add(
              new ProcessBuilder(
                      javaCommand(
                          i,
                          "kafka.tools.StorageTool",
                          "format",
                          "-t",
                          clusterId,
                          "-c",
                          configs.get(i - 1).toString()))
                  .redirectErrorStream(true)
                  .redirectOutput(nodeDir(i).resolve("format.log").toFile())
                  .start());
        }
      }
      for (Process p : formats) {
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
          p.destroyForcibly();
          throw new IllegalStateException(
              "Formatting a Kafka node under " + dataDir + " failed: see its format.log");
        }
      }
      for (int i = 1; i <= size; i++) {
        launch(i);
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
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while starting the cluster", e);
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
    Process p = processes[node - 1];
    return p != null && p.isAlive();
  }

  /** The process id of node {@code node}, e.g. for {@code kill -9}. */
  public synchronized long pid(int node) {
    Process p = processes[node - 1];
    if (p == null) {
      throw new IllegalStateException("node " + node + " is not running");
    }
    return p.pid();
  }

  /**
   * SIGKILLs node {@code node}: no controlled shutdown, no flush, as a machine that loses power.
   */
  public synchronized void kill(int node) {
    Process p = processes[node - 1];
    if (p == null) {
      return;
    }
    try {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    processes[node - 1] = null;
    log.info("Kafka node {} killed (SIGKILL)", node);
  }

  /** Starts node {@code node} again on its data directory and ports; waits until it is back. */
  public synchronized void restart(int node) {
    if (isRunning(node)) {
      return;
    }
    try {
      launch(node);
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
    for (Process p : processes) {
      if (p != null) {
        p.destroy();
      }
    }
    for (int i = 0; i < size; i++) {
      Process p = processes[i];
      if (p == null) {
        continue;
      }
      try {
        // The last nodes lose the quorum while shutting down and may wait for it: bound it.
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
      processes[i] = null;
    }
  }

  private void launch(int node) throws IOException {
    Path logFile = nodeDir(node).resolve("broker.log");
    processes[node - 1] =
        new ProcessBuilder(
                javaCommand(
                    node, "kafka.Kafka", nodeDir(node).resolve("server.properties").toString()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
            .start();
  }

  private void awaitNodes(Set<Integer> nodes, String bootstrap) {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    try (Admin admin = Admin.create(props)) {
      while (true) {
        for (int n : nodes) {
          Process p = processes[n - 1];
          if (p == null || !p.isAlive()) {
            throw new IllegalStateException(
                "Kafka node "
                    + n
                    + " exited during start-up. Last lines of its log:\n"
                    + tail(nodeDir(n).resolve("broker.log")));
          }
        }
        try {
          Set<Integer> up =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                  .nodes()
                  .get(3, TimeUnit.SECONDS)
                  .stream()
                  .map(Node::id)
                  .collect(Collectors.toSet());
          if (up.containsAll(nodes)) {
            return;
          }
        } catch (Exception notYet) {
          // keep polling until the deadline
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "Kafka nodes "
                  + nodes
                  + " did not join within "
                  + startTimeout.toSeconds()
                  + " s; logs under "
                  + dataDir);
        }
        Thread.sleep(200);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for the cluster", e);
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
    try {
      for (int i = 0; i < size; i++) {
        ports[i] = hold(held);
        controllerPorts[i] = hold(held);
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

  private static int hold(List<ServerSocket> held) throws IOException {
    ServerSocket s = new ServerSocket();
    s.bind(new InetSocketAddress("127.0.0.1", 0));
    held.add(s);
    return s.getLocalPort();
  }

  private Path writeConfig(int node) throws IOException {
    int replicas = Math.min(size, 3);
    String isr = Integer.toString(Math.min(replicas, 2));
    String voters =
        IntStream.range(0, size)
            .mapToObj(i -> (i + 1) + "@127.0.0.1:" + controllerPorts[i])
            .collect(Collectors.joining(","));
    Map<String, String> c = new LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", Integer.toString(node));
    c.put("controller.quorum.voters", voters);
    c.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:"
            + ports[node - 1]
            + ",CONTROLLER://127.0.0.1:"
            + controllerPorts[node - 1]);
    c.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports[node - 1]);
    c.put("controller.listener.names", "CONTROLLER");
    c.put("inter.broker.listener.name", "PLAINTEXT");
    c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    c.put("log.dirs", logDir(node).toString());
    c.put("default.replication.factor", Integer.toString(replicas));
    c.put("min.insync.replicas", isr);
    c.put("offsets.topic.replication.factor", Integer.toString(replicas));
    c.put("offsets.topic.num.partitions", "10");
    c.put("transaction.state.log.replication.factor", Integer.toString(replicas));
    c.put("transaction.state.log.min.isr", isr);
    c.put("transaction.state.log.num.partitions", "10");
    c.put("share.coordinator.state.topic.replication.factor", Integer.toString(replicas));
    c.put("share.coordinator.state.topic.min.isr", isr);
    c.put("group.initial.rebalance.delay.ms", "0");
    // As the single node (EmbeddedKafkaBroker): notice a crashed worker within 10 s.
    c.put("group.consumer.min.heartbeat.interval.ms", "500");
    c.put("group.consumer.heartbeat.interval.ms", "1000");
    c.put("group.consumer.min.session.timeout.ms", "6000");
    c.put("group.consumer.session.timeout.ms", "10000");
    // Fence a killed broker after 6 s (default 9 s), so leaders and the ISR move on sooner.
    c.put("broker.session.timeout.ms", "6000");
    c.put("broker.heartbeat.interval.ms", "1000");
    c.put("auto.create.topics.enable", "false");
    c.put("num.partitions", "1");
    c.put("message.max.bytes", Integer.toString(16 * 1024 * 1024));
    c.put("replica.fetch.max.bytes", Integer.toString(16 * 1024 * 1024));
    c.put("log.segment.bytes", Integer.toString(64 * 1024 * 1024));
    c.put("log.cleaner.dedupe.buffer.size", Integer.toString(16 * 1024 * 1024));
    c.putAll(overrides);
    StringBuilder sb = new StringBuilder("# Written by EmbeddedKafkaCluster on every start\n");
    c.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    Files.createDirectories(nodeDir(node));
    Path f = nodeDir(node).resolve("server.properties");
    Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
    return f;
  }

  private Path nodeDir(int node) {
    return dataDir.resolve("node-" + node);
  }

  private Path logDir(int node) {
    return nodeDir(node).resolve("logs");
  }

  private List<String> javaCommand(int node, String mainClass, String... args) throws IOException {
    Path logback = nodeDir(node).resolve("broker-logback.xml");
    if (!Files.exists(logback)) {
      Files.writeString(
          logback,
          """
          <configuration>
            <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
              <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
            </appender>
            <logger name="kafka" level="INFO"/>
            <logger name="org.apache.kafka" level="WARN"/>
            <logger name="state.change.logger" level="WARN"/>
            <root level="WARN"><appender-ref ref="OUT"/></root>
          </configuration>
          """);
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap);
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Djava.awt.headless=true");
    cmd.add("-Dlogback.configurationFile=" + logback);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static String tail(Path f) {
    try {
      List<String> lines = Files.readAllLines(f);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public String toString() {
    return "EmbeddedKafkaCluster[" + bootstrapServers() + ", " + dataDir + "]";
  }
}
