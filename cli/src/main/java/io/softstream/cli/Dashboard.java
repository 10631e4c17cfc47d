package io.softstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The live dashboard: a page served from this JVM (JDK HttpServer, inline JS and SVG, nothing
 * fetched from the internet) that server-sent events update every second with throughput, latency
 * and lag, dead letters with their reasons, model versions with their effective state and the
 * observed canary split, originals beside their reconstructions with bytes per image, and the
 * statistics app's counts where it runs. Its form sends generation requests through {@link
 * GenerationRequests}, as {@code softstream request} does.
 */
final class Dashboard implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SECONDS = 120;
  private static final int GALLERY = 8;
  private static final int MAX_INLINE_BYTES = 256 * 1024;

  private final Map<String, Object> props;
  private final TopicLayout topics;
  private final int statsPort;
  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool(Dashboard::daemon);
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<Thread> threads = new ArrayList<>();

  // What the consumer saw; guarded by this.
  private final AtomicLong images = new AtomicLong();
  private final AtomicLong tokens = new AtomicLong();
  private final AtomicLong reconstructions = new AtomicLong();
  private final AtomicLong deadLetterCount = new AtomicLong();
  private final AtomicLong cacheHits = new AtomicLong();
  private final AtomicLong generatedCount = new AtomicLong();
  private final long[] perSecond = new long[SECONDS];
  private final long[] latencySum = new long[SECONDS];
  private final long[] latencyMax = new long[SECONDS];
  private final long[] lagPerSecond = new long[SECONDS];
  // The charts' figures from the stats app or the workers' /metrics, when one of them answers.
  private final long[] polledThroughput = new long[SECONDS];
  private final long[] polledLatencyA = new long[SECONDS];
  private final long[] polledLatencyB = new long[SECONDS];
  private final long[] polledLag = new long[SECONDS];
  private final WorkerMetricsFeed workerMetrics = new WorkerMetricsFeed();
  private volatile ChartSource chartSource = ChartSource.TOPICS;
  private volatile String chartSourceText = "the topics (token records as they arrive)";
  private double previousStatsTokens = -1;
  private WorkerMetricsFeed.Sample previousWorkers;
  private long secondIndex = System.currentTimeMillis() / 1000;
  private final ArrayDeque<ObjectNode> deadLetters = new ArrayDeque<>();
  private final ArrayDeque<String> recentVersions = new ArrayDeque<>();
  private final Map<String, byte[]> originals = new LinkedHashMap<>();
  private final Map<String, String> originalTypes = new HashMap<>();
  private final Map<String, Integer> tokenBytes = new HashMap<>();
  private final ArrayDeque<ObjectNode> gallery = new ArrayDeque<>();
  private volatile ArrayNode models = JSON.createArrayNode();
  private volatile ObjectNode lag = JSON.createObjectNode();
  private volatile ArrayNode stats = JSON.createArrayNode();
  private volatile List<DemoWatcher.Stat> statsRows;
  private volatile String statsSource = "not running";

  /**
   * Where the throughput, latency and lag charts come from: the statistics app where it answers,
   * else the workers' /metrics, else the token records this dashboard reads from the topics.
   */
  enum ChartSource {
    STATS,
    WORKERS,
    TOPICS
  }

  /**
   * Starts the dashboard on {@code port} (0: any free port) of localhost, reading the cluster that
   * {@code props} names; {@code statsPort} is the Streams runner's HTTP port (0: none known).
   */
  Dashboard(Map<String, Object> props, TopicLayout topics, int port, int statsPort)
      throws IOException {
    this.props = new HashMap<>(props);
    this.topics = topics;
    this.statsPort = statsPort;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.setExecutor(pool);
    server.createContext("/", this::page);
    server.createContext("/events", this::events);
    server.createContext("/api/snapshot", e -> send(e, 200, "application/json", snapshot()));
    server.createContext("/api/generate", this::generate);
    server.start();
    background("dashboard-consumer", this::consume);
    background("dashboard-poller", this::poll);
  }

  /**
   * Reads a worker's Prometheus /metrics at {@code hostPort} for the charts when no stats app
   * answers.
   */
  Dashboard addWorkerMetrics(String hostPort) {
    workerMetrics.add(hostPort);
    return this;
  }

  /** The page's address. */
  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
  }

  private static Thread daemon(Runnable r) {
    Thread t = new Thread(r, "dashboard-http");
    t.setDaemon(true);
    return t;
  }

  private void background(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    threads.add(t);
  }

  // ---- what flows: one consumer on the output topics, from their current end ----

  private void consume() {
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaConsumer<String, SpecificRecord> consumer =
            new KafkaConsumer<>(
                c, new StringDeserializer(), new AvroDeserializer<>(registry, null))) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String t :
          List.of(
              topics.images(),
              topics.tokens(),
              topics.reconstructions(),
              topics.deadLetters(),
              topics.generatedImages())) {
        consumer.partitionsFor(t).forEach(p -> parts.add(new TopicPartition(t, p.partition())));
      }
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      while (running.get()) {
        for (ConsumerRecord<String, SpecificRecord> r : consumer.poll(Duration.ofMillis(300))) {
          try {
            record(r);
          } catch (RuntimeException e) {
            // one odd record must not stop the dashboard
          }
        }
      }
    } catch (RuntimeException e) {
      if (running.get()) {
        System.err.println("dashboard: consumer stopped: " + e);
      }
    }
  }

  private synchronized void record(ConsumerRecord<String, SpecificRecord> r) {
    long now = System.currentTimeMillis();
    roll(now);
    int slot = (int) (secondIndex % SECONDS);
    String topic = r.topic();
    if (topic.equals(topics.images()) && r.value() instanceof ImageEvent e) {
      images.incrementAndGet();
      byte[] b = GenerationRequests.bytes(e.getImageBytes());
      if (b.length <= MAX_INLINE_BYTES) {
        originals.put(r.key(), b);
        originalTypes.put(r.key(), e.getContentType());
        trim(originals, 64);
      }
    } else if (r.value() instanceof TokenRecord t) {
      tokens.incrementAndGet();
      if (t.getCacheHit()) {
        cacheHits.incrementAndGet();
      }
      perSecond[slot]++;
      long latency = Math.max(0, now - t.getEventTime().toEpochMilli());
      latencySum[slot] += latency;
      latencyMax[slot] = Math.max(latencyMax[slot], latency);
      tokenBytes.put(r.key(), t.getTokens().remaining());
      trim(tokenBytes, 64);
      recentVersions.addLast(t.getModelName() + " v" + t.getModelVersion());
      while (recentVersions.size() > 200) {
        recentVersions.removeFirst();
      }
    } else if (topic.equals(topics.reconstructions()) && r.value() instanceof ImageEvent e) {
      reconstructions.incrementAndGet();
      byte[] orig = originals.get(r.key());
      byte[] rec = GenerationRequests.bytes(e.getImageBytes());
      if (orig != null && rec.length <= MAX_INLINE_BYTES) {
        ObjectNode g = JSON.createObjectNode();
        g.put("id", r.key());
        g.put("original", dataUri(originalTypes.get(r.key()), orig));
        g.put("reconstruction", dataUri(e.getContentType(), rec));
        g.put("originalBytes", orig.length);
        g.put("tokenBytes", tokenBytes.getOrDefault(r.key(), 0));
        g.put("reconstructionBytes", rec.length);
        gallery.addFirst(g);
        while (gallery.size() > GALLERY) {
          gallery.removeLast();
        }
      }
    } else if (r.value() instanceof DeadLetter d) {
      deadLetterCount.incrementAndGet();
      ObjectNode n = JSON.createObjectNode();
      n.put("key", r.key());
      n.put("errorClass", d.getErrorClass());
      n.put("reason", d.getReason());
      n.put("from", d.getOriginalTopic());
      n.put("worker", d.getWorkerId());
      deadLetters.addFirst(n);
      while (deadLetters.size() > 20) {
        deadLetters.removeLast();
      }
    } else if (r.value() instanceof GeneratedImage) {
      generatedCount.incrementAndGet();
    }
  }

  private static <K, V> void trim(Map<K, V> m, int max) {
    var it = m.keySet().iterator();
    while (m.size() > max && it.hasNext()) {
      it.next();
      it.remove();
    }
  }

  /** Moves the per-second ring to now, clearing the seconds that passed. */
  private void roll(long nowMs) {
    long s = nowMs / 1000;
    for (long i = Math.max(secondIndex + 1, s - SECONDS + 1); i <= s; i++) {
      int k = (int) (i % SECONDS);
      perSecond[k] = 0;
      latencySum[k] = 0;
      latencyMax[k] = 0;
      lagPerSecond[k] = 0;
      polledThroughput[k] = 0;
      // Latency and lag are levels, read once per poll: a second between two polls keeps the last.
      int prev = (int) ((i - 1) % SECONDS);
      polledLatencyA[k] = polledLatencyA[prev];
      polledLatencyB[k] = polledLatencyB[prev];
      polledLag[k] = polledLag[prev];
    }
    secondIndex = Math.max(secondIndex, s);
  }

  // ---- what is polled: model versions, consumer lag, the stats app ----

  private void poll() {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        ModelCatalog catalog = new ModelCatalog(props, registry, topics.modelVersions());
        Admin admin = Admin.create(props)) {
      while (running.get()) {
        try {
          catalog.refresh(Duration.ofSeconds(2));
          models = models(catalog);
        } catch (RuntimeException e) {
          // the next round retries
        }
        try {
          lag = lag(admin);
        } catch (Exception e) {
          // the next round retries
        }
        stats = stats();
        charts();
        Thread.sleep(1000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      if (running.get()) {
        System.err.println("dashboard: poller stopped: " + e);
      }
    }
  }

  private ArrayNode models(ModelCatalog catalog) {
    ArrayNode a = JSON.createArrayNode();
    for (ModelCatalog.Entry e : catalog.all()) {
      ModelVersion v = e.version();
      boolean serving =
          catalog
              .active(v.getName(), v.getKind())
              .map(x -> x.getVersion() == v.getVersion())
              .orElse(false);
      ObjectNode n = a.addObject();
      n.put("name", v.getName());
      n.put("kind", v.getKind().toString());
      n.put("version", v.getVersion());
      n.put("status", v.getStatus().toString());
      // The effective state, by the rule every reader applies (ModelCatalog.activeOf).
      n.put(
          "effective",
          serving
              ? "SERVING"
              : v.getStatus() == ModelStatus.ACTIVE ? "SUPERSEDED" : v.getStatus().toString());
      n.put("bytes", v.getSizeBytes());
      n.put("metrics", String.valueOf(v.getMetrics()));
    }
    return a;
  }

  /** Records behind per consumer group (the workers' and the Streams apps'), summed. */
  private ObjectNode lag(Admin admin) throws Exception {
    ObjectNode out = JSON.createObjectNode();
    long total = 0;
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(g.groupId()).partitionsToOffsetAndMetadata().get();
      Map<TopicPartition, OffsetSpec> req = new HashMap<>();
      committed.keySet().forEach(tp -> req.put(tp, OffsetSpec.latest()));
      if (req.isEmpty()) {
        continue;
      }
      var ends = admin.listOffsets(req).all().get();
      long behind = 0;
      for (var e : committed.entrySet()) {
        if (e.getValue() != null && ends.containsKey(e.getKey())) {
          behind += Math.max(0, ends.get(e.getKey()).offset() - e.getValue().offset());
        }
      }
      out.put(g.groupId(), behind);
      total += behind;
    }
    synchronized (this) {
      roll(System.currentTimeMillis());
      lagPerSecond[(int) (secondIndex % SECONDS)] = total;
    }
    return out;
  }

  /** The statistics app's last ten minutes, summed per metric and model, where it runs. */
  private ArrayNode stats() {
    ArrayNode a = JSON.createArrayNode();
    if (statsPort <= 0) {
      statsSource = "no stats app given (--stats-port); figures from the topics";
      return a;
    }
    try {
      List<DemoWatcher.Stat> all = DemoWatcher.queryStats(statsPort, "1m");
      statsRows = all;
      if (all == null) {
        statsSource = "stats app not queryable yet (503)";
        return a;
      }
      Map<String, long[]> sum = new TreeMap<>();
      for (DemoWatcher.Stat s : all) {
        String k =
            s.metric() + (s.errorClass().isEmpty() ? "" : " " + s.errorClass()) + "|" + s.model();
        long[] v = sum.computeIfAbsent(k, x -> new long[] {0, -1, -1, -1});
        v[0] += s.count();
        v[1] = Math.max(v[1], s.p50());
        v[2] = Math.max(v[2], s.p95());
        v[3] = Math.max(v[3], s.p99());
      }
      sum.forEach(
          (k, v) -> {
            ObjectNode n = a.addObject();
            n.put("metric", k.substring(0, k.indexOf('|')));
            n.put("model", k.substring(k.indexOf('|') + 1));
            n.put("count", v[0]);
            n.put("p50", v[1]);
            n.put("p95", v[2]);
            n.put("p99", v[3]);
          });
      statsSource = "stats app " + DemoWatcher.statsUri(statsPort, "1m");
    } catch (Exception e) {
      statsRows = null;
      statsSource = "stats app unreachable: " + e.getMessage();
    }
    return a;
  }

  /**
   * This second's chart figures from the stats app (token records counted in its 1-minute windows,
   * latency p50/p99 of the newest window; lag from the consumer groups), else from the workers'
   * /metrics (their committed token records, mean and recent maximum latency, summed lag); with
   * neither, {@link #record} fills the charts from the topics. Counts are differences between two
   * polls, so the first poll of a source only sets its baseline.
   */
  private void charts() {
    List<DemoWatcher.Stat> rows = statsPort > 0 ? statsRows : null;
    WorkerMetricsFeed.Sample w =
        rows == null && !workerMetrics.endpoints().isEmpty() ? workerMetrics.read() : null;
    synchronized (this) {
      roll(System.currentTimeMillis());
      int slot = (int) (secondIndex % SECONDS);
      if (rows != null) {
        double total = 0;
        java.time.Instant newest = java.time.Instant.EPOCH;
        for (DemoWatcher.Stat st : rows) {
          if (st.metric().equals("tokens_out")) {
            total += st.count();
            newest = st.start().isAfter(newest) ? st.start() : newest;
          }
        }
        long p50 = 0, p99 = 0;
        for (DemoWatcher.Stat st : rows) {
          if (st.metric().equals("tokens_out") && st.start().equals(newest)) {
            p50 = Math.max(p50, st.p50());
            p99 = Math.max(p99, st.p99());
          }
        }
        if (chartSource == ChartSource.STATS && previousStatsTokens >= 0) {
          polledThroughput[slot] += (long) Math.max(0, total - previousStatsTokens);
        }
        previousStatsTokens = total;
        polledLatencyA[slot] = p50;
        polledLatencyB[slot] = p99;
        polledLag[slot] = lagPerSecond[slot];
        chartSource = ChartSource.STATS;
        chartSourceText =
            "the stats app (tokens_out of its 1-minute windows; latency p50 and p99 of the newest"
                + " window); lag from the consumer groups";
      } else if (w != null && w.reachable() > 0) {
        WorkerMetricsFeed.Sample prev = chartSource == ChartSource.WORKERS ? previousWorkers : null;
        if (prev != null) {
          polledThroughput[slot] += (long) Math.max(0, w.recordsOut() - prev.recordsOut());
          double n = w.latencyCount() - prev.latencyCount();
          polledLatencyA[slot] =
              n > 0 ? Math.round((w.latencySumSeconds() - prev.latencySumSeconds()) / n * 1000) : 0;
        }
        polledLatencyB[slot] = Math.round(w.latencyMaxSeconds() * 1000);
        polledLag[slot] = (long) w.lag();
        previousWorkers = w;
        chartSource = ChartSource.WORKERS;
        chartSourceText =
            "the workers' /metrics ("
                + w.reachable()
                + " of "
                + w.endpoints()
                + " answering: "
                + String.join(", ", workerMetrics.endpoints())
                + "; latency mean and recent maximum)";
      } else {
        chartSource = ChartSource.TOPICS;
        chartSourceText =
            "the topics (token records as they arrive)"
                + (workerMetrics.endpoints().isEmpty() ? "" : "; no worker /metrics answers");
      }
    }
  }

  // ---- the snapshot every client gets each second ----

  synchronized String snapshot() {
    roll(System.currentTimeMillis());
    ObjectNode n = JSON.createObjectNode();
    n.put("time", System.currentTimeMillis());
    ObjectNode counts = n.putObject("counts");
    counts.put("images", images.get());
    counts.put("tokens", tokens.get());
    counts.put("reconstructions", reconstructions.get());
    counts.put("deadLetters", deadLetterCount.get());
    counts.put("cacheHits", cacheHits.get());
    counts.put("generated", generatedCount.get());
    ArrayNode tput = n.putArray("throughput");
    ArrayNode lat = n.putArray("latencyAvg");
    ArrayNode latMax = n.putArray("latencyMax");
    ArrayNode lagSeries = n.putArray("lag");
    boolean polled = chartSource != ChartSource.TOPICS;
    for (long i = secondIndex - 59; i <= secondIndex; i++) {
      int k = (int) (i % SECONDS);
      if (polled) {
        tput.add(polledThroughput[k]);
        lat.add(polledLatencyA[k]);
        latMax.add(polledLatencyB[k]);
        lagSeries.add(polledLag[k]);
      } else {
        tput.add(perSecond[k]);
        lat.add(perSecond[k] == 0 ? 0 : latencySum[k] / perSecond[k]);
        latMax.add(latencyMax[k]);
        lagSeries.add(lagPerSecond[k]);
      }
    }
    n.put("chartSource", chartSource.name().toLowerCase(java.util.Locale.ROOT));
    n.put("chartSourceText", chartSourceText);
    n.putArray("latencyLabels")
        .add(
            chartSource == ChartSource.STATS
                ? "p50"
                : chartSource == ChartSource.WORKERS ? "mean" : "avg")
        .add(chartSource == ChartSource.STATS ? "p99" : "max");
    n.set("lagByGroup", lag);
    n.set("deadLetters", JSON.valueToTree(deadLetters));
    n.set("models", models);
    Map<String, Integer> split = new TreeMap<>();
    recentVersions.forEach(v -> split.merge(v, 1, Integer::sum));
    n.set("split", JSON.valueToTree(split));
    n.set("gallery", JSON.valueToTree(gallery));
    n.set("stats", stats);
    n.put("statsSource", statsSource);
    return n.toString();
  }

  private static String dataUri(String type, byte[] b) {
    return "data:"
        + (type == null ? "image/png" : type)
        + ";base64,"
        + Base64.getEncoder().encodeToString(b);
  }

  // ---- HTTP ----

  private void page(HttpExchange e) throws IOException {
    if (!e.getRequestURI().getPath().equals("/")) {
      send(e, 404, "text/plain", "not found");
      return;
    }
    try (InputStream in = Dashboard.class.getResourceAsStream("dashboard.html")) {
      send(
          e,
          200,
          "text/html; charset=utf-8",
          new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** Server-sent events: one snapshot a second until the client goes. */
  private void events(HttpExchange e) throws IOException {
    e.getResponseHeaders().set("Content-Type", "text/event-stream");
    e.getResponseHeaders().set("Cache-Control", "no-cache");
    e.sendResponseHeaders(200, 0);
    try (OutputStream out = e.getResponseBody()) {
      while (running.get()) {
        out.write(("data: " + snapshot() + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        Thread.sleep(1000);
      }
    } catch (IOException | InterruptedException gone) {
      // the browser closed the page
    }
  }

  /** POST label=N or prompt=TEXT (and count=N): sends the request, answers with its images. */
  private void generate(HttpExchange e) throws IOException {
    if (!e.getRequestMethod().equals("POST")) {
      send(e, 405, "text/plain", "POST only");
      return;
    }
    Map<String, String> form = new HashMap<>();
    String body = new String(e.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    for (String kv : body.split("&")) {
      int i = kv.indexOf('=');
      if (i > 0) {
        form.put(
            URLDecoder.decode(kv.substring(0, i), StandardCharsets.UTF_8),
            URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8).trim());
      }
    }
    ObjectNode n = JSON.createObjectNode();
    try {
      String label = form.getOrDefault("label", "");
      String prompt = form.getOrDefault("prompt", "");
      int count =
          Integer.parseInt(form.getOrDefault("count", "4").isEmpty() ? "4" : form.get("count"));
      if (label.isEmpty() == prompt.isEmpty()) {
        throw new IllegalArgumentException("give a label or a prompt, not both");
      }
      GenerationRequest req =
          GenerationRequest.newBuilder()
              .setRequestId(GenerationRequests.newId())
              .setLabel(label.isEmpty() ? null : Integer.parseInt(label))
              .setPrompt(prompt.isEmpty() ? null : prompt)
              .setCount(count)
              .build();
      long t0 = System.nanoTime();
      GenerationRequests.Outcome o =
          GenerationRequests.send(props, topics, req, Duration.ofSeconds(60), md -> {}, g -> {});
      n.put("requestId", o.requestId());
      n.put("ms", (System.nanoTime() - t0) / 1_000_000);
      if (o.rejection() != null) {
        n.put("rejection", o.rejection());
      }
      ArrayNode imgs = n.putArray("images");
      for (GeneratedImage g : o.images()) {
        ObjectNode i = imgs.addObject();
        i.put("index", g.getIndex());
        i.put("label", g.getLabel());
        byte[] png = GenerationRequests.bytes(g.getPng());
        i.put("bytes", png.length);
        i.put("src", dataUri("image/png", png));
      }
      send(e, 200, "application/json", n.toString());
    } catch (Exception ex) {
      n.put("error", String.valueOf(ex.getMessage()));
      send(e, 400, "application/json", n.toString());
    }
  }

  private static void send(HttpExchange e, int code, String type, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    e.getResponseHeaders().set("Content-Type", type);
    e.sendResponseHeaders(code, b.length);
    try (OutputStream out = e.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    server.stop(0);
    for (Thread t : threads) {
      t.join(5000);
    }
    pool.shutdownNow();
  }
}
