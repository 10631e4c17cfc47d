package io.softstream.bench;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.Progress;
import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The generation worker as users run it: its own process, started through the launcher (with the
 * launcher's JVM flags for workers), on the embedded broker. For each concurrency, that many
 * one-image requests are kept in flight (each finished request is replaced at once, as clients
 * waiting for their image would) and images/s is counted after the first round; once with
 * continuous batching (the default) and once with static batching ({@code
 * generation.continuous.batching=false}: the requests in flight finish before the next are
 * admitted), side by side, with each worker process's peak RSS (VmHWM). A last level keeps the most
 * requests in flight with every other one asking for a fifth of the steps.
 */
public final class GenerationWorkerBenchmark {
  /**
   * Settings.
   *
   * @param root the repository (its {@code softstream} launcher starts the worker)
   * @param generator the generator the worker serves (its card names the tokenizer it decodes with)
   * @param concurrency requests in flight, one measurement each
   * @param rounds timed requests per concurrency level, as a multiple of it (at least 24)
   * @param steps sampling steps of every request
   * @param guidance guidance scale of every request
   * @param workDir scratch folder (the broker's data)
   */
  public record Settings(
      Path root,
      Path generator,
      List<Integer> concurrency,
      int rounds,
      int steps,
      float guidance,
      Path workDir) {
    public Settings {
      concurrency = List.copyOf(concurrency);
    }

    /** 1, 4 and 16 requests in flight, 6 rounds, the CLI's steps and guidance. */
    public static Settings defaults(Path root, Path generator, Path workDir) {
      return new Settings(
          root,
          generator,
          List.of(1, 4, 16),
          6,
          Sampler.DEFAULT_STEPS,
          Sampler.DEFAULT_GUIDANCE,
          workDir);
    }
  }

  private final Settings s;
  private final PrintWriter out;

  public GenerationWorkerBenchmark(Settings settings, PrintWriter out) {
    this.s = settings;
    this.out = out;
  }

  /** Runs both workers and returns the figures (JSON-ready). */
  public Map<String, Object> run() throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("generator", s.generator().getFileName().toString());
    r.put("images_per_request", 1);
    r.put("steps", s.steps());
    r.put("guidance_scale", s.guidance());
    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(s.workDir().resolve("kafka"), 0, TopicLayout.defaults())) {
      Map<String, Object> on = worker(platform, true);
      Map<String, Object> off = worker(platform, false);
      r.put("continuous_batching", on);
      r.put("static_batching", off);
      Map<String, Object> ratio = new LinkedHashMap<>();
      for (String k : on.keySet()) {
        if (on.get(k) instanceof Map<?, ?> a && off.get(k) instanceof Map<?, ?> b) {
          double x = ((Number) a.get("images_per_s")).doubleValue();
          double y = ((Number) b.get("images_per_s")).doubleValue();
          ratio.put(k, y > 0 ? EncodeBenchmark.round(x / y, 2) : null);
        }
      }
      r.put("continuous_vs_static", ratio);
    }
    return r;
  }

  private static String key(int concurrency) {
    return "concurrency_" + concurrency;
  }

  /** One worker process on fresh topics: every concurrency level, then its peak RSS. */
  private Map<String, Object> worker(EmbeddedPlatform platform, boolean continuous)
      throws Exception {
    String mode = continuous ? "continuous" : "static";
    TopicLayout t = EncodeBenchmark.fresh(platform, "bench-gen-" + mode + "-");
    Path config = s.workDir().resolve("generate-worker-" + mode + ".properties");
    Files.createDirectories(s.workDir());
    Files.writeString(config, "generation.continuous.batching=" + continuous + "\n");
    try (WorkerProcess w =
        WorkerProcess.start(
            s.root(),
            "generate",
            List.of(
                "--bootstrap-servers",
                platform.bootstrapServers(),
                "--schema-registry-url",
                platform.schemaRegistryUrl(),
                "--topic-prefix",
                t.prefix(),
                "--generator",
                s.generator().toString(),
                "--config",
                config.toString(),
                "--metrics-port",
                "-1",
                "--worker-id",
                "bench-gen-" + mode))) {
      Map<String, Object> m = new LinkedHashMap<>();
      int most = s.concurrency().get(s.concurrency().size() - 1);
      for (int c = 0; c <= s.concurrency().size(); c++) {
        boolean mixed = c == s.concurrency().size();
        int n = mixed ? most : s.concurrency().get(c);
        Map<String, Object> level = closedLoop(platform, t, n, mode, mixed);
        m.put(key(n) + (mixed ? "_mixed_steps" : ""), level);
        say(
            "generation worker, %s batching, %d requests in flight%s: %.1f images/s, request latency p50 %s ms",
            mode,
            n,
            mixed ? " (every other one with a fifth of the steps)" : "",
            level.get("images_per_s"),
            level.get("p50_ms"));
        w.requireAlive();
      }
      m.put("peak_rss_mb", w.peakRssMb());
      say("generation worker, %s batching: peak RSS %s MB", mode, m.get("peak_rss_mb"));
      return m;
    }
  }

  /**
   * Keeps {@code c} one-image requests in flight until {@code c} warm-up requests plus the timed
   * ones are answered; images/s counts the timed ones only. With {@code mixed} every other request
   * asks for a fifth of the steps (requests of different lengths: what continuous batching is for).
   */
  private Map<String, Object> closedLoop(
      EmbeddedPlatform platform, TopicLayout t, int c, String mode, boolean mixed)
      throws Exception {
    int timed = Math.max(24, s.rounds() * c);
    int total = c + timed;
    Map<String, Object> cc = new HashMap<>(platform.clientProperties());
    cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    Progress progress =
        new Progress(
            "bench: generated (" + mode + ", " + c + " in flight)", total, Progress.stderr());
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, GenerationRequest> producer =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false));
        KafkaConsumer<String, GeneratedImage> consumer =
            new KafkaConsumer<>(
                cc,
                new StringDeserializer(),
                new AvroDeserializer<>(registry, GeneratedImage.class))) {
      List<TopicPartition> parts =
          consumer.partitionsFor(t.generatedImages()).stream()
              .map(pi -> new TopicPartition(pi.topic(), pi.partition()))
              .toList();
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position); // fixes the start before the first request is sent
      String prefix = "bench-" + mode + "-" + c + "-" + System.nanoTime() + "-";
      Map<String, Long> sentAt = new HashMap<>();
      List<Long> latencies = new ArrayList<>();
      int sent = 0;
      int done = 0;
      long from = 0;
      for (; sent < c; sent++) {
        send(producer, t, prefix, sent, sentAt, mixed);
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (done < total) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "generation worker answered " + done + " of " + total + " requests in 10 minutes");
        }
        for (ConsumerRecord<String, GeneratedImage> rec : consumer.poll(Duration.ofMillis(100))) {
          Long at = sentAt.remove(rec.value().getRequestId().toString());
          if (at == null) {
            continue; // not one of this level's
          }
          long now = System.nanoTime();
          done++;
          progress.update(done);
          if (done == c) {
            from = now;
          } else if (done > c) {
            latencies.add(now - at);
          }
          if (sent < total) {
            send(producer, t, prefix, sent++, sentAt, mixed);
          }
        }
      }
      double seconds = (System.nanoTime() - from) / 1e9;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("requests", timed);
      m.put("images_per_s", EncodeBenchmark.round(timed / seconds, 2));
      m.put("p50_ms", EncodeBenchmark.round(EncodeBenchmark.pct(latencies, 50) / 1e6, 1));
      m.put("p99_ms", EncodeBenchmark.round(EncodeBenchmark.pct(latencies, 99) / 1e6, 1));
      return m;
    }
  }

  private void send(
      KafkaProducer<String, GenerationRequest> producer,
      TopicLayout t,
      String prefix,
      int i,
      Map<String, Long> sentAt,
      boolean mixed) {
    String id = prefix + i;
    sentAt.put(id, System.nanoTime());
    producer.send(
        new ProducerRecord<>(
            t.generationRequests(),
            id,
            GenerationRequest.newBuilder()
                .setRequestId(id)
                .setLabel(i % 10)
                .setCount(1)
                .setSeed(i)
                .setGuidanceScale(s.guidance())
                .setSamplingSteps(mixed && i % 2 == 1 ? Math.max(1, s.steps() / 5) : s.steps())
                .build()));
    producer.flush();
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }
}
