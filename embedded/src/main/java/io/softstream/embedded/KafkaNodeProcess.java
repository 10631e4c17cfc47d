package io.softstream.embedded;

import java.io.IOException;
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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One KRaft node (combined broker + controller) as a child JVM from this process's classpath, with
 * its files in one directory ({@code server.properties} written by the caller, {@code format.log},
 * {@code broker.log}, {@code broker-logback.xml}): formatting, launch, readiness wait, stop and
 * kill. The one place {@link EmbeddedKafkaBroker} and each node of {@link EmbeddedKafkaCluster}
 * start their process.
 */
final class KafkaNodeProcess {
  private static final Logger log = LoggerFactory.getLogger(KafkaNodeProcess.class);

  private final Path dir;
  private final String heap;
  private Process process;

  KafkaNodeProcess(Path dir, String heap) {
    this.dir = dir;
    this.heap = heap;
  }

  Path config() {
    return dir.resolve("server.properties");
  }

  Path logFile() {
    return dir.resolve("broker.log");
  }

  /**
   * The settings every embedded node shares: node {@code nodeId} of the quorum {@code voters}, its
   * clients on {@code port} (PLAINTEXT), the quorum on {@code controllerPort}, its data in {@code
   * logDir}, the internal topics with {@code replicas} replicas and a minimum ISR of at most 2.
   */
  static Map<String, String> baseConfig(
      int nodeId, String voters, int port, int controllerPort, Path logDir, int replicas) {
    String rf = Integer.toString(replicas);
    String isr = Integer.toString(Math.min(replicas, 2));
    Map<String, String> c = new LinkedHashMap<>();
    c.put("process.roles", "broker,controller");
    c.put("node.id", Integer.toString(nodeId));
    c.put("controller.quorum.voters", voters);
    c.put(
        "listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    c.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    c.put("controller.listener.names", "CONTROLLER");
    c.put("inter.broker.listener.name", "PLAINTEXT");
    c.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    c.put("log.dirs", logDir.toString());
    c.put("offsets.topic.replication.factor", rf);
    c.put("offsets.topic.num.partitions", "10");
    c.put("transaction.state.log.replication.factor", rf);
    c.put("transaction.state.log.min.isr", isr);
    c.put("transaction.state.log.num.partitions", "10");
    c.put("share.coordinator.state.topic.replication.factor", rf);
    c.put("share.coordinator.state.topic.min.isr", isr);
    c.put("group.initial.rebalance.delay.ms", "0");
    // Kafka 4 consumer groups: reconcile within a second and notice a crashed worker within 10 s,
    // not 45 s, so scaling and failover are visible on a laptop.
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
    return c;
  }

  /** Writes {@code settings} as the node's server.properties; {@code by} names the writer. */
  void writeConfig(Map<String, String> settings, String by) throws IOException {
    StringBuilder sb = new StringBuilder("# Written by " + by + " on every start\n");
    settings.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    Files.createDirectories(dir);
    Files.writeString(config(), sb.toString(), StandardCharsets.UTF_8);
  }

  /** Whether its log dir {@code logDir} was formatted before (by a first start). */
  static boolean isFormatted(Path logDir) {
    return Files.exists(logDir.resolve("meta.properties"));
  }

  /** Starts formatting the node's storage for {@code clusterId}; {@link #awaitFormat} waits. */
  Process startFormat(String clusterId) throws IOException {
    return new ProcessBuilder(
            javaCommand(
                "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config().toString()))
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("format.log").toFile())
        .start();
  }

  /** Waits (at most 120 s) for {@link #startFormat}'s process; throws with its log if it failed. */
  void awaitFormat(Process p) {
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "Formatting the Kafka data dir " + dir + " took over 120 s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while formatting " + dir, e);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          "Formatting the Kafka data dir "
              + dir
              + " failed (exit "
              + p.exitValue()
              + "):\n"
              + tail(dir.resolve("format.log")));
    }
  }

  /** Starts the broker on its {@code server.properties}, its output appended to broker.log. */
  synchronized void launch() throws IOException {
    process =
        new ProcessBuilder(javaCommand("kafka.Kafka", config().toString()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
            .start();
  }

  synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException("the Kafka node in " + dir + " is not running");
    }
    return process.pid();
  }

  /**
   * Throws, with the last lines of broker.log, if the process exited; {@code what} names it in the
   * message.
   */
  synchronized void requireAlive(String what) {
    if (process != null && process.isAlive()) {
      return;
    }
    String code = process == null ? "" : " with code " + process.exitValue();
    process = null;
    throw new IllegalStateException(
        what
            + " exited"
            + code
            + " during start-up. Last lines of "
            + logFile()
            + ":\n"
            + tail(logFile()));
  }

  /** SIGTERM (controlled shutdown) without waiting; {@link #awaitStop} waits. */
  synchronized void terminate() {
    if (process != null) {
      process.destroy();
    }
  }

  /** Waits up to {@code grace} for the process to end after {@link #terminate}, then kills it. */
  synchronized void awaitStop(Duration grace) {
    if (process == null) {
      return;
    }
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn(
            "Kafka node pid {} did not stop within {} s; killing it",
            process.pid(),
            grace.toSeconds());
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /** SIGKILL: no controlled shutdown, no flush, as a machine that loses power. */
  synchronized void kill() {
    if (process == null) {
      return;
    }
    try {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /**
   * Asks the cluster through {@code client} (admin settings, with {@code bootstrap.servers}) every
   * 200 ms until it lists every node id of {@code nodes} (any node when empty). Returns false when
   * {@code timeout} passes first; {@code checkAlive} runs before each ask, to stop at once when a
   * process died.
   */
  static boolean awaitNodes(
      Map<String, ?> client, Set<Integer> nodes, Duration timeout, Runnable checkAlive) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Properties props = new Properties();
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    props.putAll(client);
    try (Admin admin = Admin.create(props)) {
      while (true) {
        checkAlive.run();
        try {
          Set<Integer> up =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                  .nodes()
                  .get(3, TimeUnit.SECONDS)
                  .stream()
                  .map(Node::id)
                  .collect(Collectors.toSet());
          if (!up.isEmpty() && up.containsAll(nodes)) {
            return true;
          }
        } catch (Exception notYet) {
          // keep polling until the deadline
        }
        if (System.nanoTime() > deadline) {
          return false;
        }
        Thread.sleep(200);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(
          "Interrupted while waiting for Kafka at " + client.get("bootstrap.servers"), e);
    }
  }

  private List<String> javaCommand(String mainClass, String... args) throws IOException {
    Path logback = dir.resolve("broker-logback.xml");
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

  /** The last 30 lines of {@code f}. */
  static String tail(Path f) {
    try {
      List<String> lines = Files.readAllLines(f);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
