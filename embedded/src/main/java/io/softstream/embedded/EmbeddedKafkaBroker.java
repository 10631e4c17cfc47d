package io.softstream.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
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
  private final Map<String, Object> readinessClient;
  private final KafkaNodeProcess node;
  private Thread shutdownHook;
  private int port;
  private int controllerPort;

  private EmbeddedKafkaBroker(Builder b) {
    this.dataDir = b.dataDir.toAbsolutePath();
    this.requestedPort = b.port;
    this.startTimeout = b.startTimeout;
    this.overrides = Map.copyOf(b.overrides);
    this.readinessClient = Map.copyOf(b.readinessClient);
    this.node = new KafkaNodeProcess(dataDir, b.heap);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder: {@code dataDir} is required; the rest has defaults. */
  public static final class Builder {
    private Path dataDir;
    private int port;
    private Duration startTimeout = Duration.ofSeconds(90);
    private final Map<String, String> overrides = new LinkedHashMap<>();
    private String heap = "768m";
    private final Map<String, Object> readinessClient = new LinkedHashMap<>();

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
    if (node.isRunning()) {
      return this;
    }
    try {
      Files.createDirectories(dataDir);
      choosePorts();
      writeConfig();
      if (!KafkaNodeProcess.isFormatted(dataDir.resolve("logs"))) {
        format();
      }
      long t0 = System.nanoTime();
      node.launch();
      shutdownHook = new Thread(this::stopProcess, "embedded-kafka-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
      awaitReady();
      log.info(
          "Kafka broker ready at {} (data {}, pid {}) in {} ms",
          bootstrapServers(),
          dataDir,
          node.pid(),
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
    return node.isRunning();
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
    node.terminate();
    node.awaitStop(Duration.ofSeconds(60));
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
      // Two free ports picked one after the other can be the same one (the CI saw it): hold
      // each socket until both are chosen, and skip ports the caller already uses.
      Set<Integer> taken = portsIn(overrides);
      if (requestedPort != 0) {
        taken.add(requestedPort);
      }
      List<ServerSocket> held = new ArrayList<>();
      try {
        port = requestedPort != 0 ? requestedPort : hold(held, taken);
        controllerPort = hold(held, taken);
      } finally {
        for (ServerSocket s : held) {
          s.close();
        }
      }
    }
    p.setProperty("port", Integer.toString(port));
    p.setProperty("controller.port", Integer.toString(controllerPort));
    try (var out = Files.newOutputStream(f)) {
      p.store(out, "Ports of the embedded Kafka broker, reused on restart");
    }
  }

  private void writeConfig() throws IOException {
    // A single node can only hold one replica of the internal topics.
    Map<String, String> c =
        KafkaNodeProcess.baseConfig(
            1, "1@127.0.0.1:" + controllerPort, port, controllerPort, dataDir.resolve("logs"), 1);
    c.putAll(overrides);
    c.replaceAll(
        (k, v) ->
            v.replace("${port}", Integer.toString(port))
                .replace("${controller.port}", Integer.toString(controllerPort)));
    node.writeConfig(c, "EmbeddedKafkaBroker");
  }

  private void format() throws IOException {
    String clusterId = Uuid.randomUuid().toString();
    node.awaitFormat(node.startFormat(clusterId));
    log.info("Formatted Kafka data dir {} (cluster id {})", dataDir, clusterId);
  }

  private void awaitReady() {
    Map<String, Object> client = new LinkedHashMap<>();
    client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    client.putAll(readinessClient);
    if (!KafkaNodeProcess.awaitNodes(
        client, Set.of(), startTimeout, () -> node.requireAlive("The embedded Kafka broker"))) {
      stopProcess();
      throw new IllegalStateException(
          "The embedded Kafka broker did not answer on "
              + bootstrapServers()
              + " within "
              + startTimeout.toSeconds()
              + " s. Last lines of "
              + node.logFile()
              + ":\n"
              + KafkaNodeProcess.tail(node.logFile()));
    }
  }

  static int hold(List<ServerSocket> held, Set<Integer> taken) throws IOException {
    while (true) {
      ServerSocket s = new ServerSocket();
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      held.add(s);
      if (taken.add(s.getLocalPort())) {
        return s.getLocalPort();
      }
    }
  }

  /** Ports named as host:port in override values, such as a second listener's. */
  static Set<Integer> portsIn(Map<String, String> overrides) {
    Set<Integer> ports = new HashSet<>();
    Matcher m = Pattern.compile(":(\\d{1,5})\\b").matcher(String.join(" ", overrides.values()));
    while (m.find()) {
      ports.add(Integer.parseInt(m.group(1)));
    }
    return ports;
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
