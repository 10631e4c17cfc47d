package io.softstream.bench;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.Progress;
import io.softstream.model.runtime.EngineKind;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import io.softstream.topology.streams.ingest.IngestGateApp;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The ingest gate (Kafka Streams, exactly_once_v2, the shipped settings) on the embedded broker,
 * against our encode worker on the same machine in the same run. Figures only; nothing is asserted.
 *
 * <ol>
 *   <li>The encode worker drains {@code images} pictures from {@code images} ({@link
 *       EncodeBenchmark}'s measurement): its images/s, and the tokens (with their content hash)
 *       that fill the gate's cache.
 *   <li>That encoder version is announced ACTIVE and the gate started; a warm-up pass of the same
 *       pictures through {@code image-ingest} (repeated until all are cache hits) warms it.
 *   <li>Gate events/s without cache hits: a backlog of ten times as many new pictures (validated,
 *       hashed, looked up, forwarded to {@code images}), and with them: as many events that repeat
 *       the tokenized pictures under new ids (answered from the cache on {@code tokens}). Each
 *       backlog is written while the gate is paused; the rate is events over the time from resume
 *       to the last committed output.
 *   <li>Cache-hit latency: up to 1,000 pictures paced at a third of the hit rate (at most 1,000/s);
 *       ingest record timestamp (CreateTime, at send) to token record timestamp (the benchmark's
 *       tokens topic uses LogAppendTime, so that is when the broker took the gate's record), and to
 *       when a read_committed consumer saw it (adds the transaction commit).
 * </ol>
 */
public final class IngestBenchmark {
  /** Benchmark settings: the encode worker's (as in {@code bench encode}) and the picture count. */
  public record Settings(
      Path model, EngineKind engine, int threads, int images, int workerBatch, Path workDir) {}

  /** Events in each gate pass per picture the worker encodes. */
  static final int GATE_EVENTS_PER_IMAGE = 10;

  private final Settings s;
  private final PrintWriter out;

  public IngestBenchmark(Settings settings, PrintWriter progress) {
    this.s = settings;
    this.out = progress;
  }

  /** Runs everything and returns the figures (the CLI prints them as one JSON object). */
  public Map<String, Object> run() throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    int n = s.images();
    // The gate is meant to be an order of magnitude faster than the worker: give its passes ten
    // times the events, so that they last long enough against the 100 ms transaction commits.
    int events = GATE_EVENTS_PER_IMAGE * n;
    // The worker's pictures come from the test set (as in `bench encode`), new ones from the
    // training set.
    List<byte[]> known = EncodeBenchmark.fashionMnistPngs(n);
    List<byte[]> fresh = EncodeBenchmark.fashionMnistPngs(events, true);
    List<byte[]> repeated = new ArrayList<>();
    for (int i = 0; i < events; i++) {
      repeated.add(known.get(i % n));
    }
    r.put("images", n);
    r.put("gate_events_per_pass", events);
    r.put("cores", Runtime.getRuntime().availableProcessors());
    Files.createDirectories(s.workDir());
    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(s.workDir().resolve("kafka"), 0, TopicLayout.defaults())) {
      TopicLayout t = EncodeBenchmark.fresh(platform, "bench-ingest-");
      logAppendTime(platform, t.tokens());

      // 1. The encode worker on the same machine, measured as `bench encode` measures it.
      Map<String, Object> worker =
          new EncodeBenchmark(
                  new EncodeBenchmark.Settings(
                      s.model(),
                      s.engine(),
                      s.threads(),
                      n,
                      s.workerBatch(),
                      s.workDir(),
                      s.workDir(),
                      false),
                  out)
              .oursWorker(platform, t, known);
      r.put("worker", worker);
      double workerRate = ((Number) worker.get("images_per_s")).doubleValue();

      // 2. Its version ACTIVE, then the gate; its cache fills from the worker's tokens.
      TokenRecord sample = firstToken(platform, t);
      r.put("model", sample.getModelName() + ":" + sample.getModelVersion());
      announceActive(platform, t, sample.getModelName(), sample.getModelVersion());
      Map<String, Object> gs = new HashMap<>(platform.clientProperties());
      gs.put(StreamsSettings.TOPIC_PREFIX, t.prefix());
      gs.put(StreamsSettings.STATE_DIR, s.workDir().resolve("streams").toString());
      gs.put(StreamsSettings.METRICS_PORT, -1);
      try (StreamsRunner gate =
          new StreamsRunner(new StreamsSettings(gs), StreamsApps.select(IngestGateApp.NAME))) {
        gate.start();
        long ready = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!gate.isReady() && System.nanoTime() < ready) {
          Thread.sleep(100);
        }
        KafkaStreams app = gate.streams(IngestGateApp.NAME);
        Pass warm = null;
        for (int round = 0; round < 5 && (warm == null || warm.hits < n); round++) {
          warm = pass(platform, t, app, known, "warm-" + round + "-");
          say("warm-up %d: %d of %d pictures answered from the cache", round, warm.hits, n);
        }

        // 3. Backlogs of new pictures and of tokenized ones.
        Pass miss = pass(platform, t, app, fresh, "new-");
        say(
            "gate, new pictures: %.1f events/s (%d forwarded to images, %d cache hits)",
            miss.rate, miss.forwarded, miss.hits);
        Pass hit = pass(platform, t, app, repeated, "hit-");
        say(
            "gate, repeated pictures: %.1f events/s (%d cache hits, %d forwarded)",
            hit.rate, hit.hits, hit.forwarded);
        r.put("gate_new_events_per_s", round(miss.rate, 1));
        r.put("gate_new_forwarded", miss.forwarded);
        r.put("gate_new_cache_hits", miss.hits);
        r.put("gate_hit_events_per_s", round(hit.rate, 1));
        r.put("gate_hit_cache_hits", hit.hits);
        r.put("gate_hit_forwarded", hit.forwarded);

        // 4. Cache-hit latency, paced.
        int paced = Math.min(n, 1000);
        double pace = Math.min(1000, Math.max(5, hit.rate / 3));
        Map<String, Object> lat = latency(platform, t, known.subList(0, paced), pace);
        r.putAll(lat);
        say(
            "cache-hit latency at %.0f events/s: p50 %s ms p99 %s ms to the token record, "
                + "p50 %s ms p99 %s ms until a read_committed consumer sees it",
            pace,
            lat.get("hit_latency_p50_ms"),
            lat.get("hit_latency_p99_ms"),
            lat.get("hit_visible_p50_ms"),
            lat.get("hit_visible_p99_ms"));

        r.put("worker_images_per_s", workerRate);
        r.put("gate_new_vs_worker", round(miss.rate / workerRate, 2));
        r.put("gate_hit_vs_worker", round(hit.rate / workerRate, 2));
        r.put("gate_vs_worker", round(Math.min(miss.rate, hit.rate) / workerRate, 2));
        say(
            "gate / encode worker: %.2f (new pictures %.2f, cache hits %.2f; goal >= 10)",
            Math.min(miss.rate, hit.rate) / workerRate,
            miss.rate / workerRate,
            hit.rate / workerRate);
        gate.close(Duration.ofSeconds(30));
      }
    }
    return r;
  }

  /** Committed outputs of one backlog: events/s and where they went. */
  private record Pass(double rate, int forwarded, int hits) {}

  /**
   * Writes {@code pngs} to {@code image-ingest} as ids {@code prefix + i} while the gate is paused,
   * resumes it and times the committed outputs (images and tokens) of those ids: events / (last
   * committed output - resume). Outputs become visible a transaction (up to 100 ms) at a time, so
   * this includes the resume and the last commit, and errs low.
   */
  private Pass pass(
      EmbeddedPlatform platform, TopicLayout t, KafkaStreams app, List<byte[]> pngs, String prefix)
      throws Exception {
    app.pause();
    try (KafkaConsumer<String, byte[]> c =
        atEnd(platform, List.of(t.images(), t.tokens()), new ByteArrayDeserializer())) {
      EncodeBenchmark.produce(platform, t.ingest(), pngs, 0, prefix);
      List<Long> arrivals = new ArrayList<>();
      int forwarded = 0;
      int hits = 0;
      long resumed = System.nanoTime();
      app.resume();
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      Progress progress =
          new Progress(
              "bench: gate pass " + prefix.replaceAll("-$", ""), pngs.size(), Progress.stderr());
      while (arrivals.size() < pngs.size() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> rec : c.poll(Duration.ofMillis(20))) {
          if (rec.key() != null && rec.key().startsWith(prefix)) {
            arrivals.add(System.nanoTime());
            if (rec.topic().equals(t.tokens())) {
              hits++;
            } else {
              forwarded++;
            }
          }
        }
        progress.update(arrivals.size());
      }
      double rate =
          arrivals.isEmpty()
              ? 0
              : arrivals.size() / ((arrivals.get(arrivals.size() - 1) - resumed) / 1e9);
      return new Pass(rate, forwarded, hits);
    } finally {
      app.resume();
    }
  }

  private Map<String, Object> latency(
      EmbeddedPlatform platform, TopicLayout t, List<byte[]> pngs, double pace) throws Exception {
    List<Long> toRecord = new ArrayList<>();
    List<Long> toVisible = new ArrayList<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaConsumer<String, TokenRecord> c =
            atEnd(
                platform,
                List.of(t.tokens()),
                new AvroDeserializer<>(registry, TokenRecord.class))) {
      Thread feeder =
          new Thread(
              () -> {
                try {
                  EncodeBenchmark.produce(
                      platform, t.ingest(), pngs, (long) (1e9 / pace), "paced-");
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      feeder.start();
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      Progress progress =
          new Progress("bench: gate, paced cache hits", pngs.size(), Progress.stderr());
      while (toRecord.size() < pngs.size() && System.nanoTime() < end) {
        for (ConsumerRecord<String, TokenRecord> rec : c.poll(Duration.ofMillis(5))) {
          long seen = System.currentTimeMillis();
          if (rec.key() != null && rec.key().startsWith("paced-")) {
            long sent = rec.value().getEventTime().toEpochMilli();
            toRecord.add(Math.max(0, rec.timestamp() - sent) * 1_000_000);
            toVisible.add(Math.max(0, seen - sent) * 1_000_000);
          }
        }
        progress.update(toRecord.size());
      }
      feeder.join();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("hit_latency_paced_events_per_s", round(pace, 1));
    m.put("hit_latency_samples", toRecord.size());
    m.put("hit_latency_p50_ms", round(EncodeBenchmark.pct(toRecord, 50) / 1e6, 1));
    m.put("hit_latency_p99_ms", round(EncodeBenchmark.pct(toRecord, 99) / 1e6, 1));
    m.put("hit_visible_p50_ms", round(EncodeBenchmark.pct(toVisible, 50) / 1e6, 1));
    m.put("hit_visible_p99_ms", round(EncodeBenchmark.pct(toVisible, 99) / 1e6, 1));
    return m;
  }

  /** A read_committed consumer assigned every partition of {@code topics}, at their ends. */
  private static <V> KafkaConsumer<String, V> atEnd(
      EmbeddedPlatform platform, List<String> topics, Deserializer<V> values) {
    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    KafkaConsumer<String, V> c = new KafkaConsumer<>(p, new StringDeserializer(), values);
    List<TopicPartition> parts = new ArrayList<>();
    for (String topic : topics) {
      c.partitionsFor(topic).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
    }
    c.assign(parts);
    c.seekToEnd(parts);
    parts.forEach(c::position); // resolve the ends now, before anything new is written
    return c;
  }

  /** The first token record on {@code tokens}: the encoder name and version the worker used. */
  private static TokenRecord firstToken(EmbeddedPlatform platform, TopicLayout t) {
    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaConsumer<String, TokenRecord> c =
            new KafkaConsumer<>(
                p, new StringDeserializer(), new AvroDeserializer<>(registry, TokenRecord.class))) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(t.tokens())
          .forEach(i -> parts.add(new TopicPartition(t.tokens(), i.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, TokenRecord> rec : c.poll(Duration.ofMillis(200))) {
          return rec.value();
        }
      }
    }
    throw new IllegalStateException("The encode worker wrote no token record to " + t.tokens());
  }

  private static void announceActive(
      EmbeddedPlatform platform, TopicLayout t, String name, int version) {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), registry, t)) {
      models.announce(
          ModelVersion.newBuilder()
              .setName(name)
              .setKind(ModelKind.ENCODER)
              .setVersion(version)
              .setArtifactLocation("file:///bench-unused")
              .setSha256("0".repeat(64))
              .setSizeBytes(1)
              .setCreatedAt(Instant.now())
              .setStatus(ModelStatus.ACTIVE)
              .build());
    }
  }

  /** The broker stamps the benchmark's token records, so their timestamp is when they arrived. */
  private static void logAppendTime(EmbeddedPlatform platform, String topic) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      admin
          .incrementalAlterConfigs(
              Map.of(
                  new ConfigResource(ConfigResource.Type.TOPIC, topic),
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry("message.timestamp.type", "LogAppendTime"),
                          AlterConfigOp.OpType.SET))))
          .all()
          .get();
    }
  }

  private static double round(double v, int digits) {
    return EncodeBenchmark.round(v, digits);
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }
}
