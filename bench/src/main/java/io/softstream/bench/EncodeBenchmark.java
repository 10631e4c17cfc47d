package io.softstream.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.Progress;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.WorkerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Encoder throughput, side by side in one run on one machine: (a) the bare engine at batch 1..64
 * and at the worker's batch, (b) our encode worker through the embedded broker, run as users run it
 * (its own process, through the launcher) with its peak RSS, (c) equivalent Python workers
 * (librdkafka; the torch reference implementation, and onnxruntime, on the same weights), (d) the
 * pipeline ceiling: ours and the Python peers with no inference at all ({@code --engine none}), and
 * the engine's FLOP/s against a matmul peak measured in the same run. 1-channel models get
 * Fashion-MNIST PNGs, 3-channel ones colour photo crops (JPEG) at the model's size. Figures only;
 * nothing is asserted.
 */
public final class EncodeBenchmark {
  /** Benchmark settings. */
  public record Settings(
      Path model,
      EngineKind engine,
      int threads,
      int images,
      int workerBatch,
      Path root,
      Path workDir,
      boolean python) {}

  private static final int[] BATCHES = {1, 2, 4, 8, 16, 32, 64};

  /** Where the MATE wallpapers (Debian's mate-backgrounds) are: the colour photos. */
  static final Path PHOTOS = Path.of("/usr/share/backgrounds/mate");

  private final Settings s;
  private final PrintWriter out;
  private String contentType = "image/png";

  public EncodeBenchmark(Settings settings, PrintWriter progress) {
    this.s = settings;
    this.out = progress;
  }

  /** Runs everything and returns the figures (the CLI prints them as one JSON object). */
  public Map<String, Object> run() throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    TokenizerConfig modelCfg = io.softstream.model.ModelDir.readCard(s.model()).tokenizerConfig();
    boolean photos = modelCfg.channels() == 3;
    List<byte[]> pngs =
        photos ? photoJpegs(s.images(), modelCfg.imageSize()) : fashionMnistPngs(s.images());
    contentType = photos ? "image/jpeg" : "image/png";
    r.put(
        "images_kind",
        photos
            ? modelCfg.imageSize() + " px colour photo crops (JPEG)"
            : "28 px Fashion-MNIST (PNG)");
    if (s.engine() == EngineKind.NONE) {
      r.put("model", io.softstream.model.ModelDir.readCard(s.model()).name());
      r.put("engine", "none");
      r.put("threads", s.threads());
      r.put("cores", Runtime.getRuntime().availableProcessors());
      Files.createDirectories(s.workDir());
      try (EmbeddedPlatform platform =
          EmbeddedPlatform.start(s.workDir().resolve("kafka"), 0, TopicLayout.defaults())) {
        // Here the ceiling is the broker's first work: a fresh broker JVM served the first peer
        // measured 0.6-0.8x as fast as the next (64 px JPEGs, 3,000 images), so one unmeasured
        // pass warms it first, as the runs before the ceiling do in a full benchmark.
        say("warm-up: one unmeasured worker pass through the fresh broker");
        oursWorkerProcess(platform, pngs, EngineKind.NONE);
        ceiling(platform, pngs, r);
      }
      return r;
    }
    try (TokenizerRuntime runtime =
        TokenizerRuntimes.open(
            s.model(),
            s.engine(),
            TokenizerRuntimes.Part.ENCODER,
            new TokenizerRuntimes.Options(s.threads()))) {
      TokenizerConfig cfg = runtime.config();
      r.put("model", runtime.card().name());
      r.put("engine", runtime.engine().id());
      r.put("threads", s.threads());
      r.put("cores", Runtime.getRuntime().availableProcessors());
      double flopsPerImage = ModelFlops.encoderFlopsPerImage(cfg);
      r.put("encoder_gflop_per_image", round(flopsPerImage / 1e9, 5));

      double peak = matmulPeakGflops();
      r.put("matmul_peak_gflops", round(peak, 1));
      say("matmul peak (PyTorch engine, fp32 1024x1024): %.1f GFLOP/s", peak);

      ImageTranslator pre =
          new ImageTranslator(
              cfg.imageSize(),
              cfg.channels(),
              ImageTranslator.Resize.FIT,
              ImageLimits.of(1 << 24, 100_000_000));
      int[] batches = bareBatches(s.workerBatch());
      int most = batches[batches.length - 1];
      float[] all = new float[most * pre.floatsPerImage()];
      for (int i = 0; i < most; i++) {
        pre.decodeInto(pngs.get(i % pngs.size()), contentType, all, i * pre.floatsPerImage());
      }
      Map<String, Object> bare = new LinkedHashMap<>();
      double best = 0;
      for (int b : batches) {
        Stats st = bareEngine(runtime, java.util.Arrays.copyOf(all, b * pre.floatsPerImage()), b);
        bare.put(Integer.toString(b), st.toMap());
        best = Math.max(best, st.imagesPerSecond);
        say(
            "bare %s batch %2d: %8.1f images/s  batch latency p50 %.2f ms p99 %.2f ms",
            runtime.engine().id(), b, st.imagesPerSecond, st.p50Ms, st.p99Ms);
      }
      // The same table for every other CPU engine that can run this model, for comparison.
      Map<String, Object> perEngine = new LinkedHashMap<>();
      perEngine.put(runtime.engine().id(), bare);
      for (EngineKind other : new EngineKind[] {EngineKind.PYTORCH, EngineKind.ONNXRUNTIME}) {
        if (other == runtime.engine()) {
          continue;
        }
        try (TokenizerRuntime o =
            TokenizerRuntimes.open(
                s.model(),
                other,
                TokenizerRuntimes.Part.ENCODER,
                new TokenizerRuntimes.Options(s.threads()))) {
          Map<String, Object> t = new LinkedHashMap<>();
          for (int b : batches) {
            Stats st = bareEngine(o, java.util.Arrays.copyOf(all, b * pre.floatsPerImage()), b);
            t.put(Integer.toString(b), st.toMap());
            say(
                "bare %s batch %2d: %8.1f images/s  batch latency p50 %.2f ms p99 %.2f ms",
                other.id(), b, st.imagesPerSecond, st.p50Ms, st.p99Ms);
          }
          perEngine.put(other.id(), t);
        } catch (IllegalArgumentException e) {
          say("bare %s: not measured (%s)", other.id(), e.getMessage());
        }
      }
      r.put("bare_per_engine", perEngine);
      r.put("bare", bare);
      double engineGflops = best * flopsPerImage / 1e9;
      r.put("engine_gflops", round(engineGflops, 2));
      r.put("engine_vs_matmul_peak", round(engineGflops / peak, 3));
      double bareAtWorkerBatch =
          ((Number) ((Map<?, ?>) bare.get(Integer.toString(s.workerBatch()))).get("images_per_s"))
              .doubleValue();

      Files.createDirectories(s.workDir());
      try (EmbeddedPlatform platform =
          EmbeddedPlatform.start(s.workDir().resolve("kafka"), 0, TopicLayout.defaults())) {
        Map<String, Object> ours = oursWorkerProcess(platform, pngs, s.engine());
        r.put("worker", ours);
        // The bare engine again, right after the worker: on a shared machine the load drifts, so
        // the
        // ratio uses the mean of the measurements taken just before and just after the worker run.
        double bareAfter =
            bareEngine(
                    runtime,
                    java.util.Arrays.copyOf(all, s.workerBatch() * pre.floatsPerImage()),
                    s.workerBatch())
                .imagesPerSecond;
        say(
            "bare %s batch %2d again after the worker: %8.1f images/s",
            runtime.engine().id(), s.workerBatch(), bareAfter);
        r.put(
            "bare_at_worker_batch_before_after",
            List.of(round(bareAtWorkerBatch, 1), round(bareAfter, 1)));
        r.put(
            "worker_vs_bare",
            round((Double) ours.get("images_per_s") / ((bareAtWorkerBatch + bareAfter) / 2), 3));
        if (s.python()) {
          Map<String, Object> py = pythonWorker(platform, pngs, "torch");
          r.put("python_worker", py);
          r.put("ours_vs_python", ratio(ours, py));
          Map<String, Object> ort = pythonWorker(platform, pngs, "onnxruntime");
          r.put("python_onnxruntime_worker", ort);
          r.put("ours_vs_python_onnxruntime", ratio(ours, ort));
          r.put("cpu_ours_vs_python_onnxruntime", cpuRatio(ours, ort));
        }
        ceiling(platform, pngs, r);
      }
    }
    return r;
  }

  /**
   * The pipeline ceiling: ours and the Python peers with no inference ({@code engine none}), so
   * only reading, image decoding, Avro and Kafka count: what a worker can feed a fast GPU.
   */
  private void ceiling(EmbeddedPlatform platform, List<byte[]> pngs, Map<String, Object> r)
      throws Exception {
    Map<String, Object> ours = oursWorkerProcess(platform, pngs, EngineKind.NONE);
    r.put(s.engine() == EngineKind.NONE ? "worker" : "worker_ceiling", ours);
    if (s.python()) {
      // Both Python peers run this same loop once inference is gone: measured once, as theirs.
      Map<String, Object> py = pythonWorker(platform, pngs, "none");
      r.put("python_worker_ceiling", py);
      r.put("pipeline_ceiling_ours_vs_python_onnxruntime", ratio(ours, py));
      r.put("pipeline_ceiling_cpu_ours_vs_python_onnxruntime", cpuRatio(ours, py));
    }
  }

  /** Ours / theirs in images/s; null when a side did not run (its map says why). */
  private static Double ratio(Map<String, Object> ours, Map<String, Object> theirs) {
    Object a = ours.get("images_per_s");
    Object b = theirs.get("images_per_s");
    if (!(a instanceof Double x) || !(b instanceof Double y) || y == 0) {
      return null;
    }
    return round(x / y, 3);
  }

  /**
   * Images per CPU-second, ours / theirs (their CPU ms per image / ours): the efficiency ratio,
   * steadier than images/s on a shared machine. Null when a side lacks the figure.
   */
  private static Double cpuRatio(Map<String, Object> ours, Map<String, Object> theirs) {
    Object a = ours.get("cpu_ms_per_image");
    Object b = theirs.get("cpu_ms_per_image");
    if (!(a instanceof Double x) || !(b instanceof Double y) || x == 0) {
      return null;
    }
    return round(y / x, 3);
  }

  /** The bare-engine batch sizes: 1..64, and the worker's batch if it is not one of them. */
  static int[] bareBatches(int workerBatch) {
    return java.util.stream.IntStream.concat(
            java.util.Arrays.stream(BATCHES), java.util.stream.IntStream.of(workerBatch))
        .distinct()
        .sorted()
        .toArray();
  }

  // ---------------------------------------------------------------- bare engine

  private record Stats(double imagesPerSecond, double p50Ms, double p99Ms, int iterations) {
    Map<String, Object> toMap() {
      return Map.of(
          "images_per_s",
          round(imagesPerSecond, 1),
          "p50_ms",
          round(p50Ms, 3),
          "p99_ms",
          round(p99Ms, 3),
          "iterations",
          iterations);
    }
  }

  private static Stats bareEngine(TokenizerRuntime runtime, float[] px, int batch) {
    for (int i = 0; i < 3; i++) {
      runtime.encode(px, batch);
    }
    List<Long> times = new ArrayList<>();
    long start = System.nanoTime();
    while (times.size() < 10 || System.nanoTime() - start < 1_500_000_000L) {
      long t0 = System.nanoTime();
      runtime.encode(px, batch);
      times.add(System.nanoTime() - t0);
      if (times.size() >= 2000) {
        break;
      }
    }
    double total = times.stream().mapToLong(Long::longValue).sum() / 1e9;
    return new Stats(
        batch * times.size() / total, pct(times, 50) / 1e6, pct(times, 99) / 1e6, times.size());
  }

  private static double matmulPeakGflops() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      int n = 1024;
      NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
      NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
      for (int i = 0; i < 3; i++) {
        a.matMul(b).close();
      }
      int iters = 0;
      long t0 = System.nanoTime();
      while (System.nanoTime() - t0 < 1_500_000_000L) {
        a.matMul(b).close();
        iters++;
      }
      return 2.0 * n * n * n * iters / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }
  }

  // ---------------------------------------------------------------- workers

  private Map<String, Object> oursWorker(EmbeddedPlatform platform, List<byte[]> pngs)
      throws Exception {
    return oursWorker(platform, fresh(platform, "bench-ours-"), pngs);
  }

  /**
   * Our encode worker's images/s and paced latency on topics {@code t} (its tokens stay there):
   * also what the ingest benchmark compares the gate with.
   */
  Map<String, Object> oursWorker(EmbeddedPlatform platform, TopicLayout t, List<byte[]> pngs)
      throws Exception {
    produce(platform, t.images(), pngs, 0);
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(WorkerConfig.WORKER_ID, "bench-ours");
    c.put(WorkerConfig.TOPIC_PREFIX, t.prefix());
    c.put(WorkerConfig.MODEL_DIR, s.model().toString());
    c.put(WorkerConfig.ENGINE, s.engine().id());
    c.put(WorkerConfig.ENGINE_THREADS, s.threads());
    c.put(WorkerConfig.BATCH_MAX_RECORDS, s.workerBatch());
    c.put(WorkerConfig.METRICS_PORT, -1);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(c));
    Thread th = worker.startInBackground("bench-worker");
    try {
      Map<String, Object> m = measure(platform, t, pngs, "ours");
      m.put("rss_mb", rssMb(ProcessHandle.current().pid(), "VmRSS:"));
      say(
          "our worker: %.1f images/s, e2e latency p50 %s ms p99 %s ms, RSS %s MB (JVM incl. benchmark)",
          m.get("images_per_s"), m.get("p50_ms"), m.get("p99_ms"), m.get("rss_mb"));
      return m;
    } finally {
      worker.close();
      th.join(30_000);
    }
  }

  /**
   * Our encode worker as users run it: its own process, started through the launcher (with the
   * launcher's JVM flags for workers), on the topics of this run; reports its peak RSS (VmHWM).
   * {@code BENCH_WORKER_JAVA_OPTS}, if set, replaces those flags (e.g. to profile it with JFR).
   */
  private Map<String, Object> oursWorkerProcess(
      EmbeddedPlatform platform, List<byte[]> pngs, EngineKind engine) throws Exception {
    TopicLayout t = fresh(platform, "bench-ours-");
    produce(platform, t.images(), pngs, 0, "bench-" + System.nanoTime() + "-", contentType);
    List<String> cmd =
        List.of(
            s.root().resolve("softstream").toString(),
            "encode-worker",
            "--bootstrap-servers",
            platform.bootstrapServers(),
            "--schema-registry-url",
            platform.schemaRegistryUrl(),
            "--topic-prefix",
            t.prefix(),
            "--model",
            s.model().toString(),
            "--engine",
            engine.id(),
            "--engine-threads",
            Integer.toString(s.threads()),
            "--batch-size",
            Integer.toString(s.workerBatch()),
            "--metrics-port",
            "-1",
            "--worker-id",
            "bench-ours-" + engine.id());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SOFTSTREAM_NO_BUILD", "1"); // this benchmark runs what is built
    String opts = System.getenv("BENCH_WORKER_JAVA_OPTS");
    if (opts != null) {
      pb.environment().put("JAVA_OPTS", opts);
    } else {
      pb.environment().remove("JAVA_OPTS");
    }
    String who = "our worker" + (engine == EngineKind.NONE ? " (engine none)" : "");
    return runPeer(pb, "encode worker ready", platform, t, pngs, who);
  }

  /**
   * A Python peer ({@code engine}: torch, onnxruntime or none) on fresh topics. onnxruntime and
   * none run in the venv {@code scripts/install-deps.sh python-venv} prepares (offline); if that
   * fails the figures say why instead.
   */
  private Map<String, Object> pythonWorker(
      EmbeddedPlatform platform, List<byte[]> pngs, String engine) throws Exception {
    String python = "/usr/bin/python3";
    if (!engine.equals("torch")) {
      Process prep =
          new ProcessBuilder(s.root().resolve("scripts/install-deps.sh").toString(), "python-venv")
              .redirectErrorStream(true)
              .start();
      String log = new String(prep.getInputStream().readAllBytes());
      if (prep.waitFor() != 0) {
        say("python %s worker: not measured (no onnxruntime venv): %s", engine, log.trim());
        return new LinkedHashMap<>(Map.of("skipped", "no onnxruntime venv: " + log.trim()));
      }
      python = s.root().resolve(".cache/python-venv/bin/python").toString();
    }
    TopicLayout t = fresh(platform, "bench-py-");
    produce(platform, t.images(), pngs, 0, "bench-" + System.nanoTime() + "-", contentType);
    Path schema = s.workDir().resolve("TokenRecord.avsc");
    Files.writeString(schema, TokenRecord.getClassSchema().toString());
    List<String> cmd =
        List.of(
            python,
            s.root().resolve("bench/src/main/python/python_encode_worker.py").toString(),
            platform.bootstrapServers(),
            platform.schemaRegistryUrl(),
            t.images(),
            t.tokens(),
            s.model().toString(),
            s.root().resolve("reference").toString(),
            schema.toString(),
            t.prefix() + "py-group",
            "bench-py-" + engine,
            Integer.toString(s.workerBatch()),
            "20",
            Integer.toString(Math.max(1, s.threads())),
            engine);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    // Debian's torch uses the system BLAS: make sure it is OpenBLAS with all cores (see
    // platform-facts).
    pb.environment().put("OMP_NUM_THREADS", Integer.toString(Math.max(1, s.threads())));
    return runPeer(pb, "ready", platform, t, pngs, "python " + engine + " worker");
  }

  /**
   * Starts a worker process, waits for its {@code ready} line, measures it, reads its peak RSS and
   * stops it with SIGTERM.
   */
  private Map<String, Object> runPeer(
      ProcessBuilder pb,
      String ready,
      EmbeddedPlatform platform,
      TopicLayout t,
      List<byte[]> pngs,
      String who)
      throws Exception {
    Process p = pb.start();
    try {
      BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
      String line;
      StringBuffer log = new StringBuffer();
      while ((line = r.readLine()) != null && !line.contains(ready)) {
        log.append(line).append('\n');
      }
      if (line == null) {
        throw new IllegalStateException(who + " exited before it was ready:\n" + log);
      }
      Thread drain =
          new Thread(
              () -> {
                try {
                  r.lines().forEach(l -> log.append(l).append('\n'));
                } catch (java.io.UncheckedIOException e) {
                  // the process exited
                }
              });
      drain.setDaemon(true);
      drain.start();
      long pid = p.pid();
      Map<String, Object> m =
          measure(platform, t, pngs, who.replace(' ', '-'), p::isAlive, () -> cpuMillis(pid));
      if (!p.isAlive()) {
        say("%s died while measured:%n%s", who, log);
        return new LinkedHashMap<>(Map.of("failed", "exited " + p.waitFor() + ": " + tail(log)));
      }
      m.put("peak_rss_mb", peakRssMb(p.pid()));
      say(
          "%s: %.1f images/s, e2e latency p50 %s ms p99 %s ms, peak RSS %s MB",
          who, m.get("images_per_s"), m.get("p50_ms"), m.get("p99_ms"), m.get("peak_rss_mb"));
      return m;
    } finally {
      p.destroy(); // SIGTERM: both commit their in-flight batch and exit
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  /**
   * Images/s from the worker's own produce timestamps (ms), 10th percentile to last: when this
   * consumer is slower to join than the worker is to drain a small backlog, the whole backlog comes
   * in one poll and arrival times say nothing (that made the rate 0 on a loaded machine).
   */
  static double steadyRate(List<Long> producedMillis) {
    List<Long> ts = new ArrayList<>(producedMillis);
    Collections.sort(ts);
    int from = ts.size() / 10;
    int to = ts.size() - 1;
    if (to <= from) {
      return 0;
    }
    // Batches commit together; a whole window inside one millisecond is counted as one.
    return (to - from) / (Math.max(1, ts.get(to) - ts.get(from)) / 1e3);
  }

  /**
   * Throughput: the backlog of pre-produced images is drained; images/s counts from the 10th to the
   * last percentile of outputs by the worker's timestamps (steady state, warm-up excluded).
   * Latency: then 200 images paced at a third of that rate, event time to committed token.
   */
  private Map<String, Object> measure(
      EmbeddedPlatform platform, TopicLayout t, List<byte[]> pngs, String who) throws Exception {
    return measure(platform, t, pngs, who, () -> true, () -> -1);
  }

  private Map<String, Object> measure(
      EmbeddedPlatform platform,
      TopicLayout t,
      List<byte[]> pngs,
      String who,
      java.util.function.BooleanSupplier alive,
      java.util.function.LongSupplier cpuMillis)
      throws Exception {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-watch-" + who + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<Long> arrivals = new ArrayList<>();
    List<Long> produced = new ArrayList<>();
    List<Long> latencies = new ArrayList<>();
    int total = pngs.size();
    String worker = who.equals("ours") ? "our worker" : who + " worker";
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaConsumer<String, TokenRecord> consumer =
            new KafkaConsumer<>(
                c, new StringDeserializer(), new AvroDeserializer<>(registry, TokenRecord.class))) {
      consumer.subscribe(List.of(t.tokens()));
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      Progress drain = new Progress("bench: " + worker + ", backlog", total, Progress.stderr());
      int from = total / 10;
      long cpuFrom = -1;
      boolean started = false;
      while (arrivals.size() < total && System.nanoTime() < deadline && alive.getAsBoolean()) {
        for (ConsumerRecord<String, TokenRecord> rec : consumer.poll(Duration.ofMillis(50))) {
          arrivals.add(System.nanoTime());
          produced.add(rec.timestamp());
        }
        drain.update(arrivals.size());
        // Its own flag: where the CPU time is unknown (-1, a worker inside this JVM) the window's
        // start moved with every poll and the rate came out 0.
        if (!started && arrivals.size() > from) {
          started = true;
          cpuFrom = cpuMillis.getAsLong();
          from = arrivals.size() - 1;
        }
      }
      // CPU time per image: unlike images/s it hardly depends on what else the machine runs.
      long cpuTo = cpuMillis.getAsLong();
      int cpuImages = arrivals.size() - 1 - from;
      double rate = steadyRate(produced);
      int paced = Math.min(200, total);
      double pace = Math.max(5, rate / 3);
      Thread feeder =
          new Thread(
              () -> {
                try {
                  produce(platform, t.images(), pngs.subList(0, paced), (long) (1e9 / pace));
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      feeder.start();
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      Progress paced1 =
          new Progress("bench: " + worker + ", paced latency", paced, Progress.stderr());
      while (latencies.size() < paced && System.nanoTime() < end && alive.getAsBoolean()) {
        for (ConsumerRecord<String, TokenRecord> rec : consumer.poll(Duration.ofMillis(20))) {
          latencies.add(
              Math.max(0, System.currentTimeMillis() - rec.value().getEventTime().toEpochMilli())
                  * 1_000_000);
        }
        paced1.update(latencies.size());
      }
      feeder.join();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("images_per_s", round(rate, 1));
      m.put("images", arrivals.size());
      if (cpuFrom >= 0 && cpuTo >= 0 && cpuImages > 0) {
        m.put("cpu_ms_per_image", round((cpuTo - cpuFrom) / (double) cpuImages, 3));
      }
      m.put("latency_paced_images_per_s", round(pace, 1));
      m.put("p50_ms", round(pct(latencies, 50) / 1e6, 1));
      m.put("p99_ms", round(pct(latencies, 99) / 1e6, 1));
      return m;
    }
  }

  static TopicLayout fresh(EmbeddedPlatform platform, String prefix) {
    TopicLayout t = TopicLayout.of(prefix + System.nanoTime() % 100000 + "-");
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      TopicAdmin.ensure(admin, t.all());
    }
    return t;
  }

  private void produce(EmbeddedPlatform platform, String topic, List<byte[]> pngs, long gapNanos)
      throws Exception {
    produce(platform, topic, pngs, gapNanos, "bench-" + System.nanoTime() + "-", contentType);
  }

  /** Sends {@code pngs} as ImageEvents with ids (and keys) {@code idPrefix + index}. */
  static void produce(
      EmbeddedPlatform platform, String topic, List<byte[]> pngs, long gapNanos, String idPrefix)
      throws Exception {
    produce(platform, topic, pngs, gapNanos, idPrefix, "image/png");
  }

  /** Sends {@code images} of {@code contentType} as ImageEvents with ids {@code idPrefix + i}. */
  static void produce(
      EmbeddedPlatform platform,
      String topic,
      List<byte[]> pngs,
      long gapNanos,
      String idPrefix,
      String contentType)
      throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, ImageEvent> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      for (int i = 0; i < pngs.size(); i++) {
        String id = idPrefix + i;
        p.send(
            new ProducerRecord<>(
                topic,
                id,
                ImageEvent.newBuilder()
                    .setId(id)
                    .setSource("bench")
                    .setContentType(contentType)
                    .setImageBytes(ByteBuffer.wrap(pngs.get(i)))
                    .setEventTime(Instant.now())
                    .build()));
        if (gapNanos > 0) {
          p.flush();
          // Sleep, not spin: a spinning feeder would take a core from the worker it measures.
          java.util.concurrent.locks.LockSupport.parkNanos(gapNanos);
        }
      }
      p.flush();
    }
  }

  /**
   * {@code count} colour photo crops of {@code size} px as JPEGs, cut from the MATE wallpapers at
   * seeded random places and scales (as users would send already-sized pictures).
   */
  static List<byte[]> photoJpegs(int count, int size) throws IOException {
    List<Path> files;
    try (java.util.stream.Stream<Path> w = Files.walk(PHOTOS)) {
      files =
          w.filter(f -> f.toString().endsWith(".jpg")).sorted().limit(Math.min(8, count)).toList();
    }
    if (files.isEmpty()) {
      throw new IllegalStateException(
          "No photos in " + PHOTOS + ": install mate-backgrounds (scripts/install-deps.sh)");
    }
    List<java.awt.image.BufferedImage> srcs = new ArrayList<>();
    for (Path f : files) {
      srcs.add(javax.imageio.ImageIO.read(f.toFile()));
    }
    java.util.Random rnd = new java.util.Random(7);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      java.awt.image.BufferedImage src = srcs.get(i % srcs.size());
      int side = (int) (Math.min(src.getWidth(), src.getHeight()) * (0.1 + 0.4 * rnd.nextDouble()));
      int x = rnd.nextInt(src.getWidth() - side + 1);
      int y = rnd.nextInt(src.getHeight() - side + 1);
      java.awt.image.BufferedImage crop =
          new java.awt.image.BufferedImage(size, size, java.awt.image.BufferedImage.TYPE_INT_RGB);
      java.awt.Graphics2D g = crop.createGraphics();
      g.setRenderingHint(
          java.awt.RenderingHints.KEY_INTERPOLATION,
          java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(src, 0, 0, size, size, x, y, x + side, y + side, null);
      g.dispose();
      java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
      javax.imageio.ImageIO.write(crop, "jpg", b);
      out.add(b.toByteArray());
    }
    return out;
  }

  static List<byte[]> fashionMnistPngs(int count) throws IOException {
    return fashionMnistPngs(count, false);
  }

  /** The first {@code count} pictures of the test (10,000) or training (60,000) set as PNGs. */
  static List<byte[]> fashionMnistPngs(int count, boolean train) throws IOException {
    io.softstream.model.data.FashionMnist.Split split =
        io.softstream.model.data.FashionMnist.read(
            io.softstream.model.data.FashionMnist.DEFAULT_DIR, train, count);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < split.count(); i++) {
      java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
      javax.imageio.ImageIO.write(split.image(i), "png", b);
      out.add(b.toByteArray());
    }
    return out;
  }

  private static String tail(StringBuffer log) {
    return log.substring(Math.max(0, log.length() - 2000));
  }

  /** User + system CPU time of process {@code pid} so far, ms; -1 where unknown. */
  static long cpuMillis(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // Fields 14 and 15 of proc(5), counted from the state (field 3): clock ticks of 10 ms.
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The process's peak resident set (VmHWM), MB. */
  static double peakRssMb(long pid) {
    return rssMb(pid, "VmHWM:");
  }

  private static double rssMb(long pid, String field) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith(field)) {
          return round(Long.parseLong(l.replaceAll("\\D", "")) / 1024.0, 1);
        }
      }
    } catch (IOException e) {
      // not Linux: leave it out
    }
    return -1;
  }

  static long pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return 0;
    }
    List<Long> l = new ArrayList<>(values);
    l.sort(null);
    return l.get(Math.min(l.size() - 1, Math.max(0, (int) Math.ceil(p / 100.0 * l.size()) - 1)));
  }

  static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }
}
