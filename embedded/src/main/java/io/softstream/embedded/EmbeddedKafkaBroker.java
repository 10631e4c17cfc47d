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
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft, combined broker + controller) run as a child JVM from this
 * process's classpath, with its data in a directory of the caller's choosing.
 *
 * <p>Why a child process: the broker then has its own heap and threads, shuts down as a real broker
 * does (SIGTERM, controlled shutdown), and a restart on the same directory is exactly what an
 * operator's restart is. The first start formats the directory and remembers the ports in {@code
 * ports.properties}, so a restart comes back on the same address with every topic, offset and
 * transaction intact.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir).build().start()) {
 *   String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
  private static final String PORTS_FILE = "ports.properties";

  private final Path dataDir;
  private final int requestedPort;
  private final Duration startTimeout;
  private final Map<String, String> overrides;
  private final String heap;
  private final Map<String, Object> readinessClient;
  private Process process;
  private Thread shutdownHook;
  private int port;
  private int controllerPort;

  private EmbeddedKafkaBroker(Builder b) {
    this.dataDir = b.dataDir.toAbsolutePath();
    this.requestedPort = b.port;
    this.startTimeout = b.startTimeout;
    this.overrides = Map.copyOf(b.overrides);
    this.heap = b.heap;
    this.readinessClient = Map.copyOf(b.readinessClient);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder: {@code dataDir} is required; the rest has defaults. */
  public static final class Builder {
    private Path dataDir;
    private int port;
    private Duration startTimeout = Duration.ofSeconds(90);
    private final Map<String, String> overrides = new java.util.LinkedHashMap<>();
    private String heap = "768m";
    private final Map<String, Object> readinessClient = new java.util.LinkedHashMap<>();

    /** Where the broker keeps its logs and metadata; reused across restarts. */
    public Builder dataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    /** Client port; 0 (default) picks a free one on first start and keeps it for restarts. */
    public Builder optPort(int port) {
      this.port = port;
      return this;
    }

    public Builder optStartTimeout(Duration t) {
      this.startTimeout = t;
      return this;
    }

    /**
     * Client settings (and {@code bootstrap.servers}) of the admin that waits for the broker, when
     * the client port is not plain (see {@link SecureSetup}).
     */
    public Builder optReadinessClient(Map<String, ?> props) {
      readinessClient.putAll(props);
      return this;
    }

    /**
     * Any broker setting, e.g. {@code message.max.bytes}; {@code ${port}} and {@code
     * ${controller.port}} in a value become the chosen ports.
     */
    public Builder optBrokerProperty(String key, String value) {
      overrides.put(key, value);
      return this;
    }

    /** Maximum heap of the broker JVM, e.g. {@code 512m}. */
    public Builder optHeap(String heap) {
      this.heap = heap;
      return this;
    }

    public EmbeddedKafkaBroker build() {
      if (dataDir == null) {
        throw new IllegalStateException("You must specify dataDir(...) for the embedded broker");
      }
      return new EmbeddedKafkaBroker(this);
    }
  }

  /** Formats the data dir if new, starts the broker and waits until it answers. Returns this. */
  public synchronized EmbeddedKafkaBroker start() {
    if (process != null && process.isAlive()) {
      return this;
    }
    try {
      Files.createDirectories(dataDir);
      choosePorts();
      Path config = writeConfig();
      if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
        format(config);
      }
      Path logFile = dataDir.resolve("broker.log");
      ProcessBuilder pb =
          new ProcessBuilder(javaCommand("kafka.Kafka", config.toString()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      long t0 = System.nanoTime();
      process = pb.start();
      shutdownHook = new Thread(this::stopProcess, "embedded-kafka-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
      awaitReady(logFile);
      log.info(
          "Kafka broker ready at {} (data {}, pid {}) in {} ms",
          bootstrapServers(),
          dataDir,
          process.pid(),
          (System.nanoTime() - t0) / 1_000_000);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start the embedded Kafka broker in " + dataDir, e);
    }
  }

  /** {@code 127.0.0.1:port} of the PLAINTEXT listener. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Stops the broker cleanly (SIGTERM, controlled shutdown); the data directory stays. */
  @Override
  public synchronized void close() {
    stopProcess();
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException ignored) {
        // JVM already shutting down: the hook runs anyway.
      }
      shutdownHook = null;
    }
  }

  private synchronized void stopProcess() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        log.warn("Kafka broker pid {} did not stop within 60 s; killing it", process.pid());
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  private void choosePorts() throws IOException {
    Path f = dataDir.resolve(PORTS_FILE);
    Properties p = new Properties();
    if (Files.exists(f)) {
      try (var in = Files.newInputStream(f)) {
        p.load(in);
      }
      port = Integer.parseInt(p.getProperty("port"));
      controllerPort = Integer.parseInt(p.getProperty("controller.port"));
      if (requestedPort != 0 && requestedPort != port) {
        port = requestedPort;
      }
      if (!isFree(port) || !isFree(controllerPort)) {
        throw new IllegalStateException(
            "Port "
                + port
                + " or "
                + controllerPort
                + " recorded in "
                + f
                + " is in use: is another broker running on "
                + dataDir
                + "? Stop it, or delete "
                + f
                + " to pick new ports.");
      }
    } else {
      port = requestedPort != 0 ? requestedPort : freePort();
      controllerPort = freePort();
    }
    p.setProperty("port", Integer.toString(port));
    p.setProperty("controller.port", Integer.toString(controllerPort));
    try (var out = Files.newOutputStream(f)) {
      p.store(out, "Ports of the embedded Kafka broker, reused on restart");
    }
  }

  private Path writeConfig() throws IOException {
    Map<String, String> c = new java.util.LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", "1");
    c.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    c.put(
        "listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    c.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    c.put("controller.listener.names", "CONTROLLER");
    c.put("inter.broker.listener.name", "PLAINTEXT");
    c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    c.put("log.dirs", dataDir.resolve("logs").toString());
    // A single node can only hold one replica of the internal topics.
    c.put("offsets.topic.replication.factor", "1");
    c.put("offsets.topic.num.partitions", "10");
    c.put("transaction.state.log.replication.factor", "1");
    c.put("transaction.state.log.min.isr", "1");
    c.put("transaction.state.log.num.partitions", "10");
    c.put("share.coordinator.state.topic.replication.factor", "1");
    c.put("share.coordinator.state.topic.min.isr", "1");
    c.put("group.initial.rebalance.delay.ms", "0");
    // Kafka 4 consumer groups: reconcile within a second and notice a crashed worker within 10 s,
    // not
    // 45 s, so scaling and failover are visible on a laptop.
    c.put("group.consumer.min.heartbeat.interval.ms", "500");
    c.put("group.consumer.heartbeat.interval.ms", "1000");
    c.put("group.consumer.min.session.timeout.ms", "6000");
    c.put("group.consumer.session.timeout.ms", "10000");
    // Topics are declared in one place (TopicLayout) and created by TopicAdmin, never by accident.
    c.put("auto.create.topics.enable", "false");
    c.put("num.partitions", "1");
    c.put("message.max.bytes", Integer.toString(16 * 1024 * 1024));
    c.put("log.segment.bytes", Integer.toString(64 * 1024 * 1024));
    c.put("log.cleaner.dedupe.buffer.size", Integer.toString(16 * 1024 * 1024));
    c.putAll(overrides);
    c.replaceAll(
        (k, v) ->
            v.replace("${port}", Integer.toString(port))
                .replace("${controller.port}", Integer.toString(controllerPort)));
    StringBuilder sb = new StringBuilder("# Written by EmbeddedKafkaBroker on every start\n");
    c.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    Path f = dataDir.resolve("server.properties");
    Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
    return f;
  }

  private void format(Path config) throws IOException {
    String clusterId = Uuid.randomUuid().toString();
    Path logFile = dataDir.resolve("format.log");
    Process p =
        new ProcessBuilder(
                javaCommand(
                    "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config.toString()))
            .redirectErrorStream(true)
            .redirectOutput(logFile.toFile())
            .start();
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "Formatting the Kafka data dir " + dataDir + " took over 120 s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while formatting " + dataDir, e);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          "Formatting the Kafka data dir "
              + dataDir
              + " failed (exit "
              + p.exitValue()
              + "):\n"
              + tail(logFile));
    }
    log.info("Formatted Kafka data dir {} (cluster id {})", dataDir, clusterId);
  }

  private List<String> javaCommand(String mainClass, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap);
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Djava.awt.headless=true");
    cmd.add("-Dlogback.configurationFile=" + logbackConfig());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    return cmd;
  }

  private String logbackConfig() {
    Path f = dataDir.resolve("broker-logback.xml");
    if (!Files.exists(f)) {
      String xml =
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
          """;
      try {
        Files.writeString(f, xml);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return f.toString();
  }

  private void awaitReady(Path logFile) {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    props.putAll(readinessClient);
    try (Admin admin = Admin.create(props)) {
      while (true) {
        if (!process.isAlive()) {
          int code = process.exitValue();
          process = null;
          throw new IllegalStateException(
              "The embedded Kafka broker exited with code "
                  + code
                  + " during start-up. Last lines of "
                  + logFile
                  + ":\n"
                  + tail(logFile));
        }
        try {
          int nodes =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                  .nodes()
                  .get(3, TimeUnit.SECONDS)
                  .size();
          if (nodes > 0) {
            return;
          }
        } catch (Exception notYet) {
          // keep polling until the deadline
        }
        if (System.nanoTime() > deadline) {
          stopProcess();
          throw new IllegalStateException(
              "The embedded Kafka broker did not answer on "
                  + bootstrapServers()
                  + " within "
                  + startTimeout.toSeconds()
                  + " s. Last lines of "
                  + logFile
                  + ":\n"
                  + tail(logFile));
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("Interrupted while waiting for the broker", e);
        }
      }
    }
  }

  private static String tail(Path f) {
    try {
      List<String> lines = Files.readAllLines(f);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }

  private static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "EmbeddedKafkaBroker[" + bootstrapServers() + ", " + Objects.toString(dataDir) + "]";
  }
}
