package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes alerts (deploy/k8s/base/monitoring.yaml) use only metric names the processes
 * really export: every {@code softstream_*} name in an alert expression must appear in a real
 * scrape of a worker's or the Streams runner's registry.
 */
class AlertRuleMetricsTest {
  static final Path RULES =
      (Files.isDirectory(Path.of("deploy")) ? Path.of(".") : Path.of(".."))
          .resolve("deploy/k8s/base/monitoring.yaml");

  @Test
  void everyMetricInTheAlertRulesIsExported(@TempDir Path state) throws Exception {
    Set<String> used = new TreeSet<>();
    for (String line : Files.readAllLines(RULES)) {
      if (line.trim().startsWith("expr:")) {
        Matcher m = Pattern.compile("softstream_[a-z_]+").matcher(line);
        while (m.find()) {
          used.add(m.group());
        }
      }
    }
    assertThat(used)
        .contains(
            "softstream_consumer_lag",
            "softstream_dead_letters_total",
            "softstream_model_load_failures_total",
            "softstream_streams_state");

    WorkerMetrics worker = new WorkerMetrics("encode", "encode-worker-0");
    worker.lag(12);
    worker.deadLetter("UndecodableImage");
    worker.modelLoadFailure();
    String scrape = worker.scrape();
    try (StreamsRunner runner =
        new StreamsRunner(
            new StreamsSettings(
                Map.of(
                    "bootstrap.servers", "localhost:1",
                    "schema.registry.url", "mock://alert-rules",
                    "state.dir", state.toString(),
                    "metrics.port", "-1")),
            // One app is enough: every app exports the same state gauge, tagged with its name.
            StreamsApps.select("stats"))) {
      scrape += runner.scrape();
    }
    for (String name : used) {
      assertThat(scrape).as("a scrape exports %s", name).containsPattern("(?m)^" + name + "\\{");
    }
    // The alert groups by these labels.
    assertThat(scrape)
        .contains(
            "softstream_dead_letters_total{error_class=\"UndecodableImage\",role=\"encode\",worker=\"encode-worker-0\"} 1.0");
  }
}
