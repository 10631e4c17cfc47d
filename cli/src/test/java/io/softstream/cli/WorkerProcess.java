package io.softstream.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An encode worker in its own JVM, as an operator runs it ({@code softstream encode-worker}), with
 * its output appended to a log file, for the tests that kill and restart workers.
 */
final class WorkerProcess {
  final String id;
  private final List<String> command;
  private final Path log;
  private Process process;
  private long readyBefore;
  private int startupRetries;
  private int logStart;

  WorkerProcess(String id, List<String> jvmOptions, List<String> workerArgs, Path logDir)
      throws IOException {
    this.id = id;
    this.log = logDir.resolve("worker-" + id + ".log");
    Files.createDirectories(logDir);
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Dai.djl.offline=true");
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(
        Path.of("target/classes").toAbsolutePath()
            + java.io.File.pathSeparator
            + Files.readString(Path.of("target/classpath.txt")).trim());
    cmd.add(Softstream.class.getName());
    cmd.add("encode-worker");
    cmd.add("--worker-id");
    cmd.add(id);
    cmd.add("--metrics-port");
    cmd.add("0");
    cmd.addAll(workerArgs);
    this.command = List.copyOf(cmd);
  }

  /** Starts (or starts again, with the same worker id and so the same transactional.id). */
  synchronized WorkerProcess start() throws IOException {
    readyBefore = readyLines();
    logStart = Files.exists(log) ? (int) Files.size(log) : 0;
    process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    return this;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** {@code kill -9}: no shutdown hook, no commit, no leave-group. */
  void kill9() throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-KILL", Long.toString(pid())).start().waitFor();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, as Kubernetes stops a pod; returns the exit code. */
  int stop() throws IOException, InterruptedException {
    if (process == null || !process.isAlive()) {
      return process == null ? 0 : process.exitValue();
    }
    new ProcessBuilder("kill", "-TERM", Long.toString(pid())).start().waitFor();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    return process.exitValue();
  }

  /**
   * Starts the worker again if this run exited before it was ready because its start-up check could
   * not reach Kafka in 10 s (a loaded 2-core machine, or a broker just killed), as an orchestrator
   * restarts a pod; any other exit is left for the caller to see. Returns whether it restarted.
   */
  synchronized boolean restartIfStartupFailed() throws IOException {
    String text = Files.exists(log) ? Files.readString(log) : "";
    if (process == null
        || process.isAlive()
        || readyLines() > readyBefore
        || !text.substring(Math.min(logStart, text.length())).contains("Cannot reach Kafka")) {
      return false;
    }
    startupRetries++;
    start();
    return true;
  }

  int startupRetries() {
    return startupRetries;
  }

  /** Waits until this run of the worker logged that it is ready (its log is appended to). */
  void awaitReady(java.time.Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (readyLines() <= readyBefore) {
      restartIfStartupFailed();
      if (!isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("worker " + id + " not ready:\n" + logTail());
      }
      Thread.sleep(200);
    }
  }

  private long readyLines() throws IOException {
    if (!Files.exists(log)) {
      return 0;
    }
    try (var lines = Files.lines(log)) {
      return lines.filter(l -> l.contains("encode worker ready")).count();
    }
  }

  /** Whether its log has a line containing {@code text}. */
  boolean logContains(String text) throws IOException {
    return Files.exists(log) && Files.readString(log).contains(text);
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
