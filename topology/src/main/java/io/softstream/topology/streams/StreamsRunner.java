package io.softstream.topology.streams;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.softstream.topology.streams.similarity.SimilarityApp;
import io.softstream.topology.streams.similarity.SimilarityQueries;
import io.softstream.topology.streams.stats.StatsApp;
import io.softstream.topology.streams.stats.StatsQueries;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one or more {@link StreamsApp}s in this JVM, each as its own {@link KafkaStreams} with
 * application.id {@code <prefix>softstream-<app>}, and serves {@code /metrics} (Prometheus: every
 * Streams metric of every app, tagged by app, plus {@code softstream_streams_state}), {@code
 * /health/live} (no app is in ERROR or stopped unexpectedly) and {@code /health/ready} (every app
 * RUNNING). Both health bodies name each app's state, so REBALANCING and ERROR show where a probe
 * looks, not only in logs.
 *
 * <p>An uncaught exception in a stream thread replaces the thread (the task resumes from its last
 * commit) up to {@link #MAX_REPLACEMENTS} times a minute; after that the app shuts down into ERROR,
 * which makes the process unhealthy, so the orchestrator restarts it.
 */
public final class StreamsRunner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StreamsRunner.class);
  static final int MAX_REPLACEMENTS = 3;

  private final StreamsSettings settings;
  private final Map<String, KafkaStreams> apps = new LinkedHashMap<>();
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final List<AutoCloseable> bindings = new ArrayList<>();
  private final java.util.concurrent.ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "streams-metrics-refresh");
            t.setDaemon(true);
            return t;
          });
  private HttpServer http;
  private int port = -1;

  public StreamsRunner(StreamsSettings settings, List<StreamsApp> apps) {
    if (apps.isEmpty()) {
      throw new IllegalArgumentException("No app to run; known: " + StreamsApps.all());
    }
    this.settings = settings;
    for (StreamsApp app : apps) {
      KafkaStreams ks =
          new KafkaStreams(app.topology(settings), settings.streamsProperties(app.name()));
      ks.setUncaughtExceptionHandler(new ThreadReplacer(app.name()));
      ks.setStateListener((now, before) -> log.info("app {}: {} -> {}", app.name(), before, now));
      this.apps.put(app.name(), ks);
      // Re-scanned every 5 s (Micrometer's default is 60 s): task-level metrics, such as the
      // gate's cache hits, appear only after the first assignment.
      KafkaStreamsMetrics m =
          new KafkaStreamsMetrics(
              ks,
              List.of(io.micrometer.core.instrument.Tag.of("app", app.name())),
              scheduler,
              Duration.ofSeconds(5));
      m.bindTo(registry);
      bindings.add(m);
      Gauge.builder("softstream.streams.state", ks, k -> k.state().ordinal())
          .description(
              "KafkaStreams.State ordinal: 0 CREATED, 1 REBALANCING, 2 RUNNING, 3 PENDING_SHUTDOWN, "
                  + "4 NOT_RUNNING, 5 PENDING_ERROR, 6 ERROR")
          .tag("app", app.name())
          .register(registry);
    }
  }

  /** Starts every app and the HTTP endpoint; returns at once. */
  public void start() throws IOException {
    int p = settings.getInt(StreamsSettings.METRICS_PORT);
    if (p >= 0) {
      http = HttpServer.create(new InetSocketAddress(p), 0);
      http.setExecutor(
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "streams-metrics-http");
                t.setDaemon(true);
                return t;
              }));
      http.createContext(
          "/metrics",
          ex -> reply(ex, 200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
      http.createContext("/health/live", ex -> health(ex, isLive()));
      http.createContext("/health/ready", ex -> health(ex, isReady()));
      KafkaStreams stats = apps.get(StatsApp.NAME);
      if (stats != null) {
        // Interactive queries over the statistics windows: the dashboard's source.
        http.createContext("/stats", StatsQueries.of(stats).httpHandler());
      }
      KafkaStreams similarity = apps.get(SimilarityApp.NAME);
      if (similarity != null) {
        // Nearest stored images by cosine over their tokens: softstream similar --url.
        http.createContext("/similar", SimilarityQueries.of(similarity).httpHandler());
      }
      http.start();
      port = http.getAddress().getPort();
    }
    apps.values().forEach(KafkaStreams::start);
  }

  /** The bound port of /metrics and /health/*, or -1. */
  public int metricsPort() {
    return port;
  }

  /** Each app's current state. */
  public Map<String, KafkaStreams.State> states() {
    Map<String, KafkaStreams.State> m = new LinkedHashMap<>();
    apps.forEach((k, v) -> m.put(k, v.state()));
    return m;
  }

  /** Every app RUNNING. */
  public boolean isReady() {
    return apps.values().stream().allMatch(k -> k.state() == KafkaStreams.State.RUNNING);
  }

  /** No app failed: none in PENDING_ERROR/ERROR or stopped. */
  public boolean isLive() {
    return apps.values().stream()
        .map(KafkaStreams::state)
        .noneMatch(
            s ->
                s == KafkaStreams.State.ERROR
                    || s == KafkaStreams.State.PENDING_ERROR
                    || s == KafkaStreams.State.NOT_RUNNING);
  }

  /** The Prometheus text of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  /** The running KafkaStreams of one app (interactive queries, tests). */
  public KafkaStreams streams(String app) {
    return apps.get(app);
  }

  private void health(HttpExchange ex, boolean ok) throws IOException {
    StringBuilder b =
        new StringBuilder("{\"status\":\"").append(ok ? "UP" : "DOWN").append("\",\"apps\":{");
    String sep = "";
    for (var e : states().entrySet()) {
      b.append(sep).append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
      sep = ",";
    }
    reply(ex, ok ? 200 : 503, b.append("}}").toString(), "application/json");
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

  /** Stops every app gracefully: in-flight transactions commit, state is flushed. */
  public void close(Duration timeout) {
    // All apps close in parallel and leave their groups: a stopped instance may not come back, and
    // the next start (or the remaining instances) then gets the partitions at once instead of after
    // the old members' session timeout (45 s).
    List<Thread> closing = new ArrayList<>();
    apps.forEach(
        (name, k) -> {
          Thread t =
              new Thread(
                  () ->
                      k.close(
                          CloseOptions.groupMembershipOperation(
                                  CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                              .withTimeout(timeout)),
                  "streams-close-" + name);
          t.start();
          closing.add(t);
        });
    for (Thread t : closing) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (AutoCloseable c : bindings) {
      try {
        c.close();
      } catch (Exception e) {
        log.debug("closing metrics binding", e);
      }
    }
    scheduler.shutdownNow();
    if (http != null) {
      http.stop(0);
    }
    registry.close();
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }

  /** Replaces a failed thread, unless failures repeat: then the app goes to ERROR. */
  private static final class ThreadReplacer
      implements org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler {
    private final String app;
    private final long[] recent = new long[MAX_REPLACEMENTS];
    private int n;

    ThreadReplacer(String app) {
      this.app = app;
    }

    @Override
    public synchronized StreamThreadExceptionResponse handle(Throwable e) {
      long now = System.currentTimeMillis();
      long oldest = recent[n % MAX_REPLACEMENTS];
      recent[n++ % MAX_REPLACEMENTS] = now;
      if (n > MAX_REPLACEMENTS && now - oldest < 60_000) {
        log.error(
            "app {}: {} thread failures within a minute; shutting the app down (state ERROR): {}",
            app,
            MAX_REPLACEMENTS + 1,
            e.toString(),
            e);
        return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      }
      log.warn(
          "app {}: stream thread failed, replacing it (resumes from the last commit): {}",
          app,
          e.toString(),
          e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
  }
}
