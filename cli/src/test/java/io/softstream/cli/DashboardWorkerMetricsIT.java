package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.TokenizerConfig;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.TestImages;
import io.softstream.worker.WorkerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Where no statistics app runs, the dashboard's charts come from the workers' Prometheus /metrics
 * (a real encode worker on the embedded broker), and they agree with what flows on the topics.
 */
@Tag("integration")
class DashboardWorkerMetricsIT {
  static final int IMAGES = 12;
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void withoutAStatsAppTheChartsComeFromTheWorkersMetrics() throws Exception {
    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      Path model =
          TestImages.tinyModel(dir.resolve("model"), TokenizerConfig.tiny("softvq"), "tiny");
      Map<String, Object> c = new HashMap<>(platform.clientProperties());
      c.put(WorkerConfig.WORKER_ID, "enc-dashboard");
      c.put(WorkerConfig.MODEL_DIR, model.toString());
      c.put(WorkerConfig.ENGINE, "pytorch");
      c.put(WorkerConfig.METRICS_PORT, 0);
      EncodeWorker worker = new EncodeWorker(new WorkerConfig(c));
      Thread t = worker.startInBackground("enc-dashboard");
      try (Dashboard d = new Dashboard(platform.clientProperties(), platform.layout(), 0, 0)) {
        await(d, n -> n.get("chartSource").asText().equals("topics"));
        String endpoint = "127.0.0.1:" + worker.metricsPort();
        d.addWorkerMetrics(endpoint);
        // The first read of the workers sets the baseline the next ones count from.
        await(d, n -> n.get("chartSource").asText().equals("workers"));

        Path mine = Files.createDirectories(dir.resolve("mine"));
        for (int i = 0; i < IMAGES; i++) {
          Files.write(mine.resolve(i + ".png"), TestImages.random(16, 16, "png", i));
        }
        CommandLine send = Softstream.commandLine();
        send.setOut(new PrintWriter(new StringWriter()));
        assertThat(
                send.execute(
                    "send",
                    mine.toString(),
                    "--bootstrap-servers",
                    platform.bootstrapServers(),
                    "--schema-registry-url",
                    platform.schemaRegistryUrl()))
            .isZero();

        JsonNode n =
            await(
                d,
                s ->
                    sum(s.get("throughput")) == IMAGES
                        && s.get("counts").get("tokens").asLong() == IMAGES);
        assertThat(n.get("chartSource").asText()).isEqualTo("workers");
        assertThat(n.get("chartSourceText").asText()).contains("1 of 1 answering: " + endpoint);
        assertThat(n.get("latencyLabels").toString()).isEqualTo("[\"mean\",\"max\"]");
        // Event time to committed token, as the worker measured it: real, positive milliseconds.
        assertThat(max(n.get("latencyAvg"))).isPositive();
        assertThat(max(n.get("latencyMax"))).isGreaterThanOrEqualTo(max(n.get("latencyAvg")));
        JsonNode lag = n.get("lag");
        assertThat(lag.get(lag.size() - 1).asLong()).isZero();
      } finally {
        worker.close();
        t.join(30_000);
      }
    }
  }

  private static JsonNode await(Dashboard d, Predicate<JsonNode> until) throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    JsonNode n = JSON.readTree(d.snapshot());
    while (!until.test(n) && System.nanoTime() < deadline) {
      Thread.sleep(200);
      n = JSON.readTree(d.snapshot());
    }
    assertThat(until.test(n)).as("dashboard snapshot reached the expected state: %s", n).isTrue();
    return n;
  }

  private static long sum(JsonNode a) {
    return StreamSupport.stream(a.spliterator(), false).mapToLong(JsonNode::asLong).sum();
  }

  private static long max(JsonNode a) {
    return StreamSupport.stream(a.spliterator(), false).mapToLong(JsonNode::asLong).max().orElse(0);
  }
}
