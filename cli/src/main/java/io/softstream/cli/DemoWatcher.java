package io.softstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.topology.TopicLayout;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads the output topics (read_committed) and keeps what this run produced. */
final class DemoWatcher implements AutoCloseable {
  final Map<String, TokenRecord> tokens = new ConcurrentHashMap<>();
  final Map<String, ImageEvent> reconstructions = new ConcurrentHashMap<>();
  final Map<String, byte[]> reconstructionPng = new ConcurrentHashMap<>();
  final Map<String, ConsumerRecord<String, DeadLetter>> deadLetters = new ConcurrentHashMap<>();

  /** Generated images by "request id/index"; dead letters of generation requests by request id. */
  final Map<String, GeneratedImage> generated = new ConcurrentHashMap<>();

  final Map<String, Long> generatedArrival = new ConcurrentHashMap<>();
  final Map<String, ConsumerRecord<String, DeadLetter>> generationDeadLetters =
      new ConcurrentHashMap<>();
  final AtomicInteger generationDeadLetterRecords = new AtomicInteger();

  /** The generation app's completions by request id. */
  final Map<String, GenerationCompletion> completions = new ConcurrentHashMap<>();

  final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());

  /**
   * When each token record arrived (epoch ms), the model version that made it, when its image was
   * sent (event time) and when the record was written (its timestamp).
   */
  record Arrival(long ms, int version, long sentMs, long writtenMs) {}

  final List<Arrival> tokenArrivals = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Object> props;
  private final SchemaRegistryClient registry;
  private final TopicLayout topics;
  private final TopicLayout photoTopics;
  private final String runId;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private Thread thread;

  DemoWatcher(
      Map<String, Object> props,
      SchemaRegistryClient registry,
      TopicLayout topics,
      TopicLayout photoTopics,
      String runId) {
    this.props = props;
    this.registry = registry;
    this.topics = topics;
    this.photoTopics = photoTopics;
    this.runId = runId;
  }

  void start() {
    thread = new Thread(this::run, "demo-watcher");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "demo-watcher-" + runId);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    try (KafkaConsumer<String, SpecificRecord> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new AvroDeserializer<>(registry, null))) {
      List<String> watched =
          new ArrayList<>(
              List.of(
                  topics.tokens(),
                  topics.reconstructions(),
                  topics.deadLetters(),
                  topics.generatedImages(),
                  topics.generationCompletions()));
      if (photoTopics != null) {
        watched.addAll(
            List.of(
                photoTopics.tokens(), photoTopics.reconstructions(), photoTopics.deadLetters()));
      }
      consumer.subscribe(watched);
      while (running.get()) {
        for (ConsumerRecord<String, SpecificRecord> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.key() == null) {
            continue;
          }
          // A unit generation job's dead letter is keyed <request id>#<first index>.
          int job = r.key().indexOf('#');
          String key = job < 0 ? r.key() : r.key().substring(0, job);
          if (!key.endsWith(runId)) {
            continue; // an earlier run on the same data dir
          }
          if (r.value() instanceof TokenRecord t) {
            tokens.put(r.key(), t);
            if (!r.topic().equals(topics.tokens())) {
              continue; // the photos' own pipeline: not part of the swap's timeline or latency
            }
            tokenArrivals.add(
                new Arrival(
                    System.currentTimeMillis(),
                    t.getModelVersion(),
                    t.getEventTime().toEpochMilli(),
                    r.timestamp()));
            latencies.add(
                Math.max(0, System.currentTimeMillis() - t.getEventTime().toEpochMilli()));
          } else if (r.value() instanceof ImageEvent e) {
            reconstructions.put(r.key(), e);
            reconstructionPng.put(r.key(), e.getImageBytes().array());
          } else if (r.value() instanceof GenerationCompletion gc) {
            completions.put(key, gc);
          } else if (r.value() instanceof GeneratedImage g) {
            generated.put(r.key() + "/" + g.getIndex(), g);
            generatedArrival.put(r.key(), System.currentTimeMillis());
          } else if (r.value() instanceof DeadLetter) {
            @SuppressWarnings("unchecked")
            ConsumerRecord<String, DeadLetter> d =
                (ConsumerRecord<String, DeadLetter>) (ConsumerRecord<?, ?>) r;
            if (key.startsWith("gen-")) {
              generationDeadLetters.put(key, d);
              generationDeadLetterRecords.incrementAndGet();
            } else {
              deadLetters.put(r.key(), d);
            }
          }
        }
      }
    }
  }

  /** Token records the ingest gate answered from its token cache (no encoder ran). */
  long cacheHits() {
    return tokens.values().stream().filter(TokenRecord::getCacheHit).count();
  }

  /**
   * A gap between two consecutive token records: its length, its two ends, and how many of the
   * stream's images were sent while it lasted.
   */
  record Gap(long ms, Arrival from, Arrival to, int sentDuring) {}

  /** The largest gap between the arrivals of the first {@code records} token records. */
  Gap largestGap(int records) {
    return largestGap(records, 0, Long.MAX_VALUE);
  }

  /**
   * The largest gap between the arrivals of the first {@code records} token records, of those gaps
   * that ended in {@code [fromMs, toMs)}.
   */
  Gap largestGap(int records, long fromMs, long toMs) {
    List<Arrival> l;
    synchronized (tokenArrivals) {
      l = new ArrayList<>(tokenArrivals.subList(0, Math.min(records, tokenArrivals.size())));
    }
    int first = 0;
    while (first < l.size() && l.get(first).ms() < fromMs) {
      first++;
    }
    l = l.subList(Math.max(0, first - 1), l.size()); // the record before the window starts a gap
    l.removeIf(a -> a.ms() >= toMs);
    Arrival none = new Arrival(0, 0, 0, 0);
    Gap max = new Gap(0, none, none, 0);
    for (int i = 1; i < l.size(); i++) {
      Arrival a = l.get(i - 1);
      Arrival b = l.get(i);
      if (b.ms() - a.ms() > max.ms()) {
        max = new Gap(b.ms() - a.ms(), a, b, 0);
      }
    }
    Gap g = max;
    int during =
        (int)
            l.stream().filter(x -> x.sentMs() > g.from().ms() && x.sentMs() < g.to().ms()).count();
    return new Gap(g.ms(), g.from(), g.to(), during);
  }

  long percentile(int p) {
    List<Long> l;
    synchronized (latencies) {
      l = new ArrayList<>(latencies);
    }
    if (l.isEmpty()) {
      return 0;
    }
    l.sort(Comparator.naturalOrder());
    return l.get(Math.min(l.size() - 1, (int) Math.ceil(p / 100.0 * l.size()) - 1));
  }

  /**
   * One statistic as the stats app's {@code /stats} interactive query answers it (see {@code
   * StatsJson}); the percentiles are -1 where the metric has no latency.
   */
  record Stat(
      String window,
      Instant start,
      String metric,
      String model,
      String worker,
      String errorClass,
      long count,
      long p50,
      long p95,
      long p99) {
    /** What the statistic is of, without its window. */
    String key() {
      return metric + "|" + model + "|" + worker + "|" + errorClass;
    }
  }

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /**
   * Asks the stats app's interactive query, {@code GET /stats/<window>?minutes=60} on {@code port},
   * for every statistic of the last hour; null while its stores are not queryable (503).
   */
  static List<Stat> queryStats(int port, String window) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(statsUri(port, window)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 503) {
      return null;
    }
    if (r.statusCode() != 200) {
      throw new IOException(
          "GET " + statsUri(port, window) + ": " + r.statusCode() + " " + r.body());
    }
    List<Stat> out = new ArrayList<>();
    for (JsonNode n : new ObjectMapper().readTree(r.body())) {
      JsonNode lat = n.path("latency_ms");
      out.add(
          new Stat(
              n.get("window").asText(),
              Instant.parse(n.get("start").asText()),
              n.get("metric").asText(),
              n.get("model").asText(),
              n.get("worker").asText(),
              n.get("error_class").asText(),
              n.get("count").asLong(),
              lat.path("p50").asLong(-1),
              lat.path("p95").asLong(-1),
              lat.path("p99").asLong(-1)));
    }
    return out;
  }

  static URI statsUri(int port, String window) {
    return URI.create("http://127.0.0.1:" + port + "/stats/" + window + "?minutes=60");
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    if (thread != null) {
      thread.join(5000);
    }
  }
}
