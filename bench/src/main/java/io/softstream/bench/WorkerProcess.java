package io.softstream.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One of our workers as users run it: its own process started through the launcher ({@code
 * softstream <role>-worker ...}, with the launcher's JVM flags for workers, or {@code
 * BENCH_WORKER_JAVA_OPTS} if set), running what is built. {@link #close()} stops it with SIGTERM
 * (it commits its in-flight batch and exits).
 */
final class WorkerProcess implements AutoCloseable {
  private final Process process;
  private final StringBuffer log = new StringBuffer();
  private final String who;

  private WorkerProcess(Process process, String who) {
    this.process = process;
    this.who = who;
  }

  /**
   * Starts {@code root/softstream command args...} and returns once it printed its "{@code role}
   * worker ready" line.
   *
   * @throws IllegalStateException with its output if it exits before
   */
  static WorkerProcess start(Path root, String role, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(root.resolve("softstream").toString());
    cmd.add(role + "-worker");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SOFTSTREAM_NO_BUILD", "1"); // the benchmark runs what is built
    String opts = System.getenv("BENCH_WORKER_JAVA_OPTS");
    if (opts != null) {
      pb.environment().put("JAVA_OPTS", opts);
    } else {
      pb.environment().remove("JAVA_OPTS");
    }
    WorkerProcess w = new WorkerProcess(pb.start(), role + " worker");
    BufferedReader r = new BufferedReader(new InputStreamReader(w.process.getInputStream()));
    String line;
    while ((line = r.readLine()) != null && !line.contains(role + " worker ready")) {
      w.log.append(line).append('\n');
    }
    if (line == null) {
      w.close();
      throw new IllegalStateException(w.who + " exited before it was ready:\n" + w.log);
    }
    Thread drain =
        new Thread(
            () -> {
              try {
                r.lines().forEach(l -> w.log.append(l).append('\n'));
              } catch (java.io.UncheckedIOException e) {
                // the process exited
              }
            });
    drain.setDaemon(true);
    drain.start();
    return w;
  }

  /** Throws, with the end of its output, if the process is gone. */
  void requireAlive() {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          who + " died while measured:\n" + log.substring(Math.max(0, log.length() - 4000)));
    }
  }

  /** Its peak resident set (VmHWM) so far, MB. */
  double peakRssMb() {
    return EncodeBenchmark.peakRssMb(process.pid());
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
