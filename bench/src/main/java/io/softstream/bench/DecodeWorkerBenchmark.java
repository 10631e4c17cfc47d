package io.softstream.bench;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.Progress;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.topology.TopicLayout;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The decode worker as users run it: its own process, started through the launcher (with the
 * launcher's JVM flags for workers), on the embedded broker. The tokens are real: Fashion-MNIST
 * test images encoded in this process by the same tokenizer, sent as a backlog of {@code
 * TokenRecord}s; the worker drains it into reconstructions. Reports images/s (from the 10th
 * percentile of outputs to the last, warm-up excluded) and the worker process's peak RSS (VmHWM).
 */
public final class DecodeWorkerBenchmark {
  /**
   * Settings.
   *
   * @param root the repository (its {@code softstream} launcher starts the worker)
   * @param model the tokenizer whose decoder the worker serves (and whose encoder makes the tokens)
   * @param images token records in the backlog
   * @param batch the worker's micro-batch
   * @param workDir scratch folder (the broker's data)
   */
  public record Settings(Path root, Path model, int images, int batch, Path workDir) {}

  private final Settings s;
  private final PrintWriter out;

  public DecodeWorkerBenchmark(Settings settings, PrintWriter out) {
    this.s = settings;
    this.out = out;
  }

  /** Runs the worker on the backlog and returns the figures (JSON-ready). */
  public Map<String, Object> run() throws Exception {
    List<float[]> tokens = new ArrayList<>();
    String name;
    TokenizerConfig cfg;
    try (TokenizerRuntime enc =
        TokenizerRuntimes.open(s.model(), EngineKind.AUTO, TokenizerRuntimes.Part.ENCODER)) {
      name = enc.card().name();
      cfg = enc.config();
      ImageTranslator pre =
          new ImageTranslator(
              cfg.imageSize(),
              cfg.channels(),
              ImageTranslator.Resize.FIT,
              ImageLimits.of(1 << 24, 100_000_000));
      List<byte[]> pngs = EncodeBenchmark.fashionMnistPngs(Math.min(256, s.images()));
      float[] px = new float[pngs.size() * pre.floatsPerImage()];
      for (int i = 0; i < pngs.size(); i++) {
        pre.decodeInto(pngs.get(i), "image/png", px, i * pre.floatsPerImage());
      }
      TokenizerRuntime.Encoded e = enc.encode(px, pngs.size());
      for (int i = 0; i < pngs.size(); i++) {
        tokens.add(e.image(i));
      }
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("model", name);
    r.put("images", s.images());
    r.put("batch", s.batch());
    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(s.workDir().resolve("kafka"), 0, TopicLayout.defaults())) {
      TopicLayout t = EncodeBenchmark.fresh(platform, "bench-dec-");
      produce(platform, t, tokens, name, cfg);
      r.put("worker", worker(platform, t));
    }
    return r;
  }

  private void produce(
      EmbeddedPlatform platform,
      TopicLayout t,
      List<float[]> tokens,
      String name,
      TokenizerConfig cfg)
      throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, TokenRecord> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      for (int i = 0; i < s.images(); i++) {
        String id = "bench-dec-" + i;
        p.send(
            new ProducerRecord<>(
                t.tokens(),
                id,
                TokenRecord.newBuilder()
                    .setImageId(id)
                    .setModelName(name)
                    .setModelVersion(1)
                    .setTokenCount(cfg.tokens())
                    .setTokenDim(cfg.codeDim())
                    .setDtype(TokenDtype.FP32)
                    .setTokens(
                        ByteBuffer.wrap(
                            TokenPacking.pack(tokens.get(i % tokens.size()), TokenDtype.FP32)))
                    .setEncodeLatencyMicros(0)
                    .setSourceTopic(t.images())
                    .setSourcePartition(0)
                    .setSourceOffset(i)
                    .setEventTime(Instant.now())
                    .build()));
      }
      p.flush();
    }
  }

  private Map<String, Object> worker(EmbeddedPlatform platform, TopicLayout t) throws Exception {
    try (WorkerProcess w =
        WorkerProcess.start(
            s.root(),
            "decode",
            List.of(
                "--bootstrap-servers",
                platform.bootstrapServers(),
                "--schema-registry-url",
                platform.schemaRegistryUrl(),
                "--topic-prefix",
                t.prefix(),
                "--model",
                s.model().toString(),
                "--batch-size",
                Integer.toString(s.batch()),
                "--metrics-port",
                "-1",
                "--worker-id",
                "bench-dec"))) {
      Map<String, Object> m = drain(platform, t, w);
      m.put("peak_rss_mb", w.peakRssMb());
      say(
          "decode worker: %.1f images/s, peak RSS %s MB",
          m.get("images_per_s"), m.get("peak_rss_mb"));
      return m;
    }
  }

  /**
   * Reads the reconstructions until the backlog is drained; images/s from the 10th percentile, by
   * the worker's produce timestamps.
   */
  private Map<String, Object> drain(EmbeddedPlatform platform, TopicLayout t, WorkerProcess w) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-dec-watch-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<Long> produced = new ArrayList<>();
    Progress progress = new Progress("bench: decoded", s.images(), Progress.stderr());
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(t.reconstructions()));
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (produced.size() < s.images()) {
        w.requireAlive();
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "decode worker made "
                  + produced.size()
                  + " of "
                  + s.images()
                  + " reconstructions in 10 minutes");
        }
        for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(100))) {
          produced.add(rec.timestamp());
        }
        progress.update(produced.size());
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("images_per_s", EncodeBenchmark.round(EncodeBenchmark.steadyRate(produced), 1));
    return m;
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }
}
