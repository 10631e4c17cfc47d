package io.softstream.worker.internals;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The worker's Prometheus metrics and its HTTP endpoint: {@code /metrics}, {@code /health/live}
 * (the loop is running) and {@code /health/ready} (model loaded and warmed up, loop running,
 * brokers reachable, batches committing; otherwise 503 with the reason as JSON).
 */
public final class WorkerMetrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Tags tags;
  private final Counter recordsIn;
  private final Counter recordsOut;
  private final Counter committed;
  private final Counter aborted;
  private final Counter retries;
  private final Counter modelLoadFailures;
  private final DistributionSummary batchSize;
  private final Timer inference;
  private final Timer endToEnd;
  private final AtomicLong lag = new AtomicLong();
  private final Map<String, Counter> deadLetters = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> activeModel = new ConcurrentHashMap<>();
  private HttpServer http;

  public WorkerMetrics(String role, String workerId) {
    tags = Tags.of("role", role, "worker", workerId);
    recordsIn =
        Counter.builder("softstream.records.in")
            .description("Records consumed")
            .tags(tags)
            .register(registry);
    recordsOut =
        Counter.builder("softstream.records.out")
            .description("Records produced (committed), dead letters excluded")
            .tags(tags)
            .register(registry);
    committed =
        Counter.builder("softstream.transactions")
            .tag("outcome", "committed")
            .tags(tags)
            .register(registry);
    aborted =
        Counter.builder("softstream.transactions")
            .tag("outcome", "aborted")
            .tags(tags)
            .register(registry);
    retries =
        Counter.builder("softstream.retries")
            .description(
                "Batches put back for a retriable failure (registry or broker unavailable)")
            .tags(tags)
            .register(registry);
    modelLoadFailures =
        Counter.builder("softstream.model.load.failures")
            .description("Announced versions that failed to fetch, verify, load or self-check")
            .tags(tags)
            .register(registry);
    batchSize =
        DistributionSummary.builder("softstream.batch.size")
            .description("Records per micro-batch")
            .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128)
            .tags(tags)
            .register(registry);
    inference =
        Timer.builder("softstream.inference.latency")
            .description("Model time per batch")
            .publishPercentileHistogram()
            .tags(tags)
            .register(registry);
    endToEnd =
        Timer.builder("softstream.end.to.end.latency")
            .description("Event time to committed output")
            .publishPercentileHistogram()
            .tags(tags)
            .register(registry);
    Gauge.builder("softstream.consumer.lag", lag, AtomicLong::get)
        .description("Records behind the log end, summed over assigned partitions")
        .tags(tags)
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
  }

  public void recordsIn(int n) {
    recordsIn.increment(n);
  }

  /** Records encoded by one model version (active and canary side by side). */
  public void recordsOutByVersion(String model, int version, int n) {
    Counter.builder("softstream.records.by.version")
        .description("Records produced per model version")
        .tag("model", model)
        .tag("version", Integer.toString(version))
        .tags(tags)
        .register(registry)
        .increment(n);
  }

  public double recordsOutByVersionCount(String model, int version) {
    var c =
        registry
            .find("softstream.records.by.version")
            .tag("model", model)
            .tag("version", Integer.toString(version))
            .counter();
    return c == null ? 0 : c.count();
  }

  public void recordsOut(int n) {
    recordsOut.increment(n);
  }

  public void batch(int n) {
    batchSize.record(n);
  }

  public void inference(Duration d) {
    inference.record(d);
  }

  public void endToEnd(Duration d) {
    endToEnd.record(d);
  }

  public void transaction(boolean ok) {
    (ok ? committed : aborted).increment();
  }

  public void modelLoadFailure() {
    modelLoadFailures.increment();
  }

  public double modelLoadFailureCount() {
    return modelLoadFailures.count();
  }

  public void retry() {
    retries.increment();
  }

  public double retryCount() {
    return retries.count();
  }

  public void lag(long records) {
    lag.set(records);
  }

  public void deadLetter(String errorClass) {
    deadLetters
        .computeIfAbsent(
            errorClass,
            c ->
                Counter.builder("softstream.dead.letters")
                    .description("Records sent to the dead-letter topic")
                    .tag("error_class", c)
                    .tags(tags)
                    .register(registry))
        .increment();
  }

  /** Marks {@code model:version} as the one serving (gauge 1; others 0). */
  public void activeModel(String model, int version) {
    String key = model + ":" + version;
    // Only this model's other versions go to 0: a generation worker serves a generator and a
    // decoder.
    activeModel.forEach(
        (k, v) -> {
          if (k.startsWith(model + ":")) {
            v.set(0);
          }
        });
    activeModel
        .computeIfAbsent(
            key,
            k -> {
              AtomicLong v = new AtomicLong();
              Gauge.builder("softstream.model.active", v, AtomicLong::get)
                  .tag("model", model)
                  .tag("version", Integer.toString(version))
                  .tags(tags)
                  .register(registry);
              return v;
            })
        .set(1);
  }

  public double deadLetterCount() {
    return deadLetters.values().stream().mapToDouble(Counter::count).sum();
  }

  public double recordsInCount() {
    return recordsIn.count();
  }

  public double recordsOutCount() {
    return recordsOut.count();
  }

  /** Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  /**
   * Serves {@code /metrics} and the health endpoints on {@code port} (0 = any free port).
   *
   * @return the bound port
   */
  public int serve(int port, BooleanSupplier live, Supplier<String> notReadyReason)
      throws IOException {
    http = HttpServer.create(new InetSocketAddress(port), 0);
    http.setExecutor(
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "metrics-http");
              t.setDaemon(true);
              return t;
            }));
    http.createContext(
        "/metrics", ex -> reply(ex, 200, scrape(), "text/plain; version=0.0.4; charset=utf-8"));
    http.createContext("/health/live", ex -> health(ex, live.getAsBoolean()));
    http.createContext("/health/ready", ex -> ready(ex, notReadyReason.get()));
    http.start();
    return http.getAddress().getPort();
  }

  private static void health(HttpExchange ex, boolean ok) throws IOException {
    reply(
        ex,
        ok ? 200 : 503,
        ok ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}",
        "application/json");
  }

  /** 200 when {@code reason} is null, else 503 with the reason, for operators. */
  private static void ready(HttpExchange ex, String reason) throws IOException {
    if (reason == null) {
      health(ex, true);
      return;
    }
    StringBuilder json = new StringBuilder("{\"status\":\"DOWN\",\"reason\":\"");
    for (char c : reason.toCharArray()) {
      if (c == '"' || c == '\\') {
        json.append('\\').append(c);
      } else if (c < 0x20) {
        json.append(String.format("\\u%04x", (int) c));
      } else {
        json.append(c);
      }
    }
    reply(ex, 503, json.append("\"}").toString(), "application/json");
  }

  private static void reply(HttpExchange ex, int status, String body, String type)
      throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
    }
    registry.close();
  }
}
