package io.softstream.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The workers' own figures, read from their Prometheus {@code /metrics} (what {@code WorkerMetrics}
 * serves): token records committed by the encode workers, their event-time to committed-token
 * latency, and every worker's consumer lag. The dashboard's charts fall back to these where no
 * statistics app runs.
 */
final class WorkerMetricsFeed {
  static final String RECORDS_OUT = "softstream_records_out_total";
  static final String LATENCY = "softstream_end_to_end_latency_seconds";
  static final String LAG = "softstream_consumer_lag";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  /** The workers' figures summed: counters since each worker started, gauges now. */
  record Sample(
      double recordsOut,
      double latencySumSeconds,
      double latencyCount,
      double latencyMaxSeconds,
      double lag,
      int reachable,
      int endpoints) {}

  private final List<String> endpoints = new CopyOnWriteArrayList<>();

  /** Adds {@code host:port} of a worker's metrics server. */
  void add(String hostPort) {
    if (!hostPort.isBlank() && !endpoints.contains(hostPort.trim())) {
      endpoints.add(hostPort.trim());
    }
  }

  List<String> endpoints() {
    return List.copyOf(endpoints);
  }

  /** One read of every worker; an unreachable one counts as such and adds nothing. */
  Sample read() {
    double[] sum = new double[5];
    int reachable = 0;
    for (String ep : endpoints) {
      try {
        HttpResponse<String> r =
            HTTP.send(
                HttpRequest.newBuilder(URI.create("http://" + ep + "/metrics"))
                    .timeout(Duration.ofSeconds(2))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          add(sum, r.body());
          reachable++;
        }
      } catch (java.io.IOException e) {
        // not up yet, or gone: counted as unreachable
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return new Sample(sum[0], sum[1], sum[2], sum[3], sum[4], reachable, endpoints.size());
  }

  /** Adds one worker's Prometheus text to {@code sum}: encode records out, latency, lag. */
  static void add(double[] sum, String prometheusText) {
    for (String line : prometheusText.split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      if (space < 0) {
        continue;
      }
      String name = line.substring(0, brace >= 0 ? brace : line.indexOf(' '));
      String labels = brace >= 0 ? line.substring(brace, line.lastIndexOf('}') + 1) : "";
      double v;
      try {
        v = Double.parseDouble(line.substring(space + 1));
      } catch (NumberFormatException e) {
        continue;
      }
      // Token records come from the encode workers; decode workers' outputs are reconstructions.
      boolean encode = labels.contains("role=\"encode\"");
      switch (name) {
        case RECORDS_OUT -> sum[0] += encode ? v : 0;
        case LATENCY + "_sum" -> sum[1] += encode ? v : 0;
        case LATENCY + "_count" -> sum[2] += encode ? v : 0;
        case LATENCY + "_max" -> sum[3] = encode ? Math.max(sum[3], v) : sum[3];
        case LAG -> sum[4] += v;
        default -> {}
      }
    }
  }
}
