package io.softstream.cli;

import java.io.PrintWriter;
import java.net.BindException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Serves the live dashboard on localhost until Ctrl-C. */
@Command(
    name = "dashboard",
    mixinStandardHelpOptions = true,
    description = {
      "Serve a live dashboard on localhost: throughput, latency and lag, dead letters with reasons, "
          + "model versions with their effective state and canary split, originals beside "
          + "reconstructions, and a generation form. Nothing is fetched from the internet.",
      "Example: softstream dashboard --stats-port 9500"
    })
public final class DashboardCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;
  @Mixin TopicOptions topicOptions;

  @Option(
      names = "--port",
      defaultValue = "8088",
      description = "Port on 127.0.0.1 (default: ${DEFAULT-VALUE}; taken: any free one).")
  int port;

  @Option(
      names = "--stats-port",
      defaultValue = "0",
      description =
          "HTTP port of `softstream topology run` (its /stats query) for the statistics app's "
              + "figures and the charts; 0: none (default: ${DEFAULT-VALUE}).")
  int statsPort;

  @Option(
      names = "--worker-metrics",
      split = ",",
      paramLabel = "HOST:PORT",
      description =
          "Workers' /metrics servers (their printed metrics port) for the charts where no stats "
              + "app answers, e.g. 127.0.0.1:9400,127.0.0.1:9401; without either, the charts "
              + "come from the topics.")
  List<String> workerMetrics = List.of();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Map<String, Object> props = kafka.clientProperties();
    ClusterCheck.require(props);
    try (Dashboard d = start(props, topicOptions.layout(), port, statsPort)) {
      workerMetrics.forEach(d::addWorkerMetrics);
      out.printf("Dashboard: %s (Ctrl-C to stop)%n", d.url());
      out.flush();
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      stop.await();
    }
    return 0;
  }

  /** Starts a dashboard on {@code port}, or on any free port when that one is taken. */
  static Dashboard start(
      Map<String, Object> props, io.softstream.topology.TopicLayout topics, int port, int statsPort)
      throws java.io.IOException {
    try {
      return new Dashboard(props, topics, port, statsPort);
    } catch (BindException taken) {
      return new Dashboard(props, topics, 0, statsPort);
    }
  }
}
