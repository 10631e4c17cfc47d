package io.softstream.cli;

import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The Kafka Streams apps: print their topologies, or run them. */
@Command(
    name = "topology",
    mixinStandardHelpOptions = true,
    description =
        "The Kafka Streams apps (ingest gate with token cache, and every registered app).",
    subcommands = {TopologyCommand.Describe.class, TopologyCommand.Run.class})
public final class TopologyCommand {

  /** Options shared by both subcommands; they build the apps' {@link StreamsSettings}. */
  static final class AppOptions {
    @Mixin KafkaOptions kafka;
    @Mixin TopicOptions topicOptions;

    @Option(
        names = "--app",
        defaultValue = "all",
        description =
            "Apps, comma-separated, or all (default: ${DEFAULT-VALUE}); e.g. ingest,generation,stats. "
                + "cache names the ingest app, which holds the token cache.")
    String app;

    @Option(
        names = "--config",
        paramLabel = "FILE",
        description = "Properties file of settings (see README: topology settings).")
    Path config;

    @Option(
        names = "--set",
        paramLabel = "KEY=VALUE",
        description =
            "Any setting (repeatable), e.g. num.standby.replicas=1, cache.retention.ms=86400000, "
                + "state.dir=/data/streams, metrics.port=9400.")
    Map<String, String> set = new java.util.LinkedHashMap<>();

    /** defaults < --config file < environment < flags, like the workers. */
    StreamsSettings settings() throws java.io.IOException {
      Map<String, Object> p = KafkaOptions.defaults();
      p.putAll(Settings.file(config));
      p.putAll(kafka.fromEnvironment());
      p.putAll(kafka.fromFlags());
      if (topicOptions.prefix != null) {
        p.put(StreamsSettings.TOPIC_PREFIX, topicOptions.prefix);
      }
      p.putAll(set);
      return new StreamsSettings(p);
    }

    List<StreamsApp> apps() {
      return StreamsApps.select(app);
    }
  }

  @Command(
      name = "describe",
      mixinStandardHelpOptions = true,
      description = "Print each app's Topology.describe(): named processors, stores and topics.")
  static final class Describe implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AppOptions options;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      StreamsSettings s = options.settings();
      for (StreamsApp app : options.apps()) {
        out.printf("# app %s (application.id %s)%n", app.name(), s.applicationId(app.name()));
        out.println(app.topology(s).describe());
      }
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = {
        "Run the apps until SIGTERM (exactly_once_v2; a clean stop commits and flushes state).",
        "Serves /metrics, /health/live and /health/ready (ready only when every app is RUNNING)."
      })
  static final class Run implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin AppOptions options;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      List<StreamsApp> apps = options.apps();
      CountDownLatch stop = new CountDownLatch(1);
      try (StreamsRunner runner = new StreamsRunner(options.settings(), apps)) {
        Signals.onTerminate(stop::countDown);
        runner.start();
        out.printf(
            "running %s; metrics and health on port %d; SIGTERM to stop%n",
            apps.stream().map(StreamsApp::name).toList(), runner.metricsPort());
        out.flush();
        stop.await();
        out.println("stopping: committing and closing every app");
        out.flush();
        runner.close(Duration.ofSeconds(30));
      }
      return 0;
    }
  }
}
