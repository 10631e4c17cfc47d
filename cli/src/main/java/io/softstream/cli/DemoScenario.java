package io.softstream.cli;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.ModelDir;
import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.worker.AbstractWorker;
import io.softstream.worker.DecodeWorker;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.GenerateWorker;
import io.softstream.worker.Prompts;
import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import io.softstream.worker.generation.ImageGeneration;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The demo as a story told with the public APIs a user calls: start the platform, publish a model,
 * start the workers, send images, swap the model mid-run, send poison pills and generation
 * requests, wait for the results and print the summary. {@link #run} reads as that list of steps;
 * each step prints what it did.
 */
final class DemoScenario {
  /**
   * What the demo runs.
   *
   * @param generator null: no generation worker and no generation requests ({@code skipReason} says
   *     why)
   * @param generationTokenizer the tokenizer that decodes the generator's tokens
   */
  record Setup(
      Path dataDir,
      int registryPort,
      Path model,
      Path nextModel,
      String engine,
      List<SampleImages.Sample> samples,
      int fashionImages,
      int photos,
      Path generator,
      Path generationTokenizer,
      int generateCount,
      String skipReason,
      boolean keepRunning) {}

  /**
   * A generation request the demo sends: by label or by prompt; {@code slug} names its files.
   *
   * @param valid whether the worker should accept it
   */
  record DemoRequest(String slug, Integer label, String prompt, boolean valid) {
    String describe() {
      return label != null ? "label " + label : "prompt \"" + prompt + "\"";
    }
  }

  /**
   * Two labels, three prompts and one request the worker must reject (a prompt that names no
   * class).
   */
  static final List<DemoRequest> GENERATION_REQUESTS =
      List.of(
          new DemoRequest("label-0", 0, null, true),
          new DemoRequest("label-8", 8, null, true),
          new DemoRequest("ankle-boot", null, "ankle boot", true),
          new DemoRequest("sneakers", null, "a pair of sneakers", true),
          new DemoRequest("dress", null, "dress", true),
          new DemoRequest("unicorn", null, "a unicorn", false));

  private final Setup setup;
  private final PrintWriter out;
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private final List<EncodeWorker> encoders = new ArrayList<>();
  private final List<AbstractWorker> workers = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final Map<String, SampleImages.Sample> sent = new LinkedHashMap<>();
  private Map<String, Object> props;
  private TopicLayout topics;
  private String modelName;
  private GenerateWorker generation;

  DemoScenario(Setup setup, PrintWriter out) {
    this.setup = setup;
    this.out = out;
  }

  /**
   * Runs the demo; returns the exit code: 0 if every image, dead letter and generated image came
   * back.
   */
  int run() throws Exception {
    say(
        "Softstream demo: %d real images (%d Fashion-MNIST PNG, %d photo JPEG) + 3 poison pills; model %s",
        setup.samples().size(), setup.fashionImages(), setup.photos(), setup.model());
    try (EmbeddedPlatform platform = startPlatform()) {
      props = platform.clientProperties();
      topics = platform.layout();
      modelName = ModelDir.readCard(setup.model()).name();
      // As in a real deployment, the model registry and the data path each have their own registry
      // client.
      try (SchemaRegistryClient schemas = SchemaRegistryClients.create(props);
          ModelRegistry models = new ModelRegistry(props, schemas, topics);
          SchemaRegistryClient registry = SchemaRegistryClients.create(props);
          DemoWatcher watcher = new DemoWatcher(props, registry, topics, runId)) {
        int firstVersion = publishModel(models, schemas, setup.model());
        say(
            "Published %s as version %d (ACTIVE) on %s, artifact in %s",
            modelName, firstVersion, topics.modelVersions(), topics.modelArtifacts());
        startWorkers(firstVersion);
        watcher.start();
        long ts = System.nanoTime();
        int half = setup.samples().size() / 2;
        sendImages(registry, setup.samples().subList(0, half));
        int nextVersion = publishModel(models, schemas, setup.nextModel());
        say(
            "   ... halfway: published %s version %d (ACTIVE); workers swap to it between batches",
            modelName, nextVersion);
        sendImages(registry, setup.samples().subList(half, setup.samples().size()));
        int poison = sendPoisonPills(registry);
        Map<String, Long> requested = generation == null ? Map.of() : requestGenerations(registry);
        Expected expected =
            new Expected(
                sent.size(),
                poison,
                generation == null
                    ? 0
                    : setup.generateCount()
                        * (int) GENERATION_REQUESTS.stream().filter(DemoRequest::valid).count(),
                generation == null
                    ? 0
                    : (int) GENERATION_REQUESTS.stream().filter(r -> !r.valid()).count());
        awaitResults(watcher, expected, ts);
        printSummary(watcher, poison, (System.nanoTime() - ts) / 1e9);
        printModelSwap(watcher, nextVersion);
        boolean generationOk = printGeneration(watcher, requested, expected);
        say("Registry subjects: %s", registry.subjects());
        boolean ok =
            watcher.tokens.size() == expected.tokens()
                && watcher.reconstructions.size() == expected.tokens()
                && watcher.deadLetters.size() == poison
                && generationOk;
        if (setup.keepRunning()) {
          keepRunning(platform);
        }
        stopWorkers();
        say("Workers stopped cleanly; broker data kept in %s", platform.broker().dataDir());
        return ok ? 0 : 1;
      }
    }
  }

  /** What the demo waits for. */
  private record Expected(int tokens, int deadLetters, int images, int rejects) {}

  /** The embedded broker (child JVM), the schema registry and the topics. */
  private EmbeddedPlatform startPlatform() {
    long t0 = System.nanoTime();
    EmbeddedPlatform platform =
        EmbeddedPlatform.start(setup.dataDir(), setup.registryPort(), TopicLayout.defaults());
    TopicLayout layout = platform.layout();
    say(
        "Kafka broker (KRaft, child JVM) at %s, data in %s, up in %.1f s",
        platform.bootstrapServers(), platform.broker().dataDir(), (System.nanoTime() - t0) / 1e9);
    say(
        "Schema registry (Confluent REST API, stored in topic %s) at %s",
        layout.schemas(), platform.schemaRegistryUrl());
    say(
        "Topics: %d created, %d already there: %s",
        platform.topics().created().size(),
        platform.topics().existing().size(),
        String.join(
            ", ", layout.all().stream().map(t -> t.name() + "(" + t.partitions() + ")").toList()));
    return platform;
  }

  /**
   * Publishes {@code dir} as the next version of the model for encoders and decoders, ACTIVE;
   * returns the version.
   */
  private int publishModel(ModelRegistry models, SchemaRegistryClient schemas, Path dir) {
    int version;
    try (ModelCatalog catalog = new ModelCatalog(props, schemas, topics.modelVersions())) {
      catalog.refresh(Duration.ofSeconds(10));
      version =
          Math.max(
              catalog.nextVersion(modelName, ModelKind.ENCODER),
              catalog.nextVersion(modelName, ModelKind.DECODER));
    }
    for (ModelKind kind : List.of(ModelKind.ENCODER, ModelKind.DECODER)) {
      models.publish(dir, modelName, kind, version, Map.of(), ModelStatus.ACTIVE);
    }
    return version;
  }

  /**
   * Two encode workers and a decode worker that follow the model-versions topic, and the generation
   * worker.
   */
  private void startWorkers(int firstVersion) throws Exception {
    long tw = System.nanoTime();
    for (String role : List.of("encode-1", "encode-2", "decode-1")) {
      Map<String, Object> c = workerConfig(role, setup.model());
      c.put(WorkerConfig.MODEL_NAME, modelName);
      c.put(WorkerConfig.MODEL_VERSION, firstVersion);
      c.put(WorkerConfig.MODEL_WATCH, true);
      c.put(
          WorkerConfig.MODEL_CACHE_DIR,
          setup.dataDir().resolve("model-cache").toAbsolutePath().toString());
      AbstractWorker worker =
          role.startsWith("encode")
              ? new EncodeWorker(new WorkerConfig(c))
              : new DecodeWorker(new WorkerConfig(c));
      if (worker instanceof EncodeWorker e) {
        encoders.add(e);
      }
      say(
          "%s worker demo-%s ready (metrics http://127.0.0.1:%d/metrics)",
          role.substring(0, 6), role, worker.metricsPort());
      start(worker, "demo-" + role);
    }
    if (setup.generator() != null) {
      Map<String, Object> c = workerConfig("generate-1", setup.generationTokenizer());
      if (setup.generationTokenizer().equals(setup.model())) {
        c.put(WorkerConfig.MODEL_NAME, modelName);
        c.put(WorkerConfig.MODEL_VERSION, firstVersion);
      }
      c.put(GenerationSettings.GENERATOR_DIR, setup.generator().toString());
      c.put(GenerationSettings.MAX_COUNT, 16);
      generation = new GenerateWorker(new WorkerConfig(c));
      say(
          "generate worker demo-generate-1 ready: %s, decoder %s (metrics http://127.0.0.1:%d/metrics)",
          generation.generatorModel(), generation.decoderModel(), generation.metricsPort());
      start(generation, "demo-generate-1");
    }
    say("Workers loaded and warmed up in %.1f s", (System.nanoTime() - tw) / 1e9);
  }

  private Map<String, Object> workerConfig(String role, Path model) {
    Map<String, Object> c = new HashMap<>(props);
    c.put(WorkerConfig.WORKER_ID, "demo-" + role);
    c.put(WorkerConfig.MODEL_DIR, model.toString());
    c.put(WorkerConfig.ENGINE, setup.engine());
    c.put(WorkerConfig.METRICS_PORT, 0);
    return c;
  }

  private void start(AbstractWorker worker, String name) {
    workers.add(worker);
    threads.add(worker.startInBackground(name));
  }

  /** Streams {@code samples} as ImageEvents to the images topic, printing the first few. */
  private void sendImages(SchemaRegistryClient registry, List<SampleImages.Sample> samples)
      throws Exception {
    String topic = topics.images();
    Map<String, Object> p = new HashMap<>(props);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10 * 1024 * 1024);
    say("%n-> streaming %d ImageEvents to %s (first few shown)", samples.size(), topic);
    try (KafkaProducer<String, ImageEvent> producer =
        new KafkaProducer<>(
            p, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      int i = 0;
      for (SampleImages.Sample s : samples) {
        String id = s.id() + "-" + runId;
        ImageEvent e =
            ImageEvent.newBuilder()
                .setId(id)
                .setSource(s.source())
                .setContentType(s.contentType())
                .setImageBytes(ByteBuffer.wrap(s.bytes()))
                .setWidth(s.width())
                .setHeight(s.height())
                .setEventTime(Instant.now())
                .setAttributes(Map.of("label", s.label(), "run", runId))
                .build();
        RecordMetadata m = producer.send(new ProducerRecord<>(topic, id, e)).get();
        sent.put(id, s);
        if (i++ < 4 || s.contentType().equals("image/jpeg") && i < setup.fashionImages() + 2) {
          say(
              "  %-28s %-10s %6d B %4dx%-4d %-12s -> partition %d offset %d",
              id,
              s.contentType(),
              s.bytes().length,
              s.width(),
              s.height(),
              s.label(),
              m.partition(),
              m.offset());
        }
        if (i % 40 == 0) {
          Thread.sleep(50); // a stream, not a single burst
        }
      }
    }
  }

  /**
   * Three records the encoders must dead-letter: not Avro, an unknown schema id, an undecodable
   * image.
   */
  private int sendPoisonPills(SchemaRegistryClient registry) throws Exception {
    String topic = topics.images();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  topic, ("poison-json-" + runId).getBytes(), "{\"not\": \"avro\"}".getBytes()))
          .get();
      producer
          .send(
              new ProducerRecord<>(
                  topic, ("poison-id-" + runId).getBytes(), new byte[] {0, 0, 1, 0, 0, 2, 'x'}))
          .get();
    }
    try (KafkaProducer<String, ImageEvent> producer =
        new KafkaProducer<>(
            props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      producer
          .send(
              new ProducerRecord<>(
                  topic,
                  "poison-img-" + runId,
                  ImageEvent.newBuilder()
                      .setId("poison-img-" + runId)
                      .setSource("demo")
                      .setContentType("image/jpeg")
                      .setImageBytes(ByteBuffer.wrap("JFIF? no".getBytes()))
                      .setEventTime(Instant.now())
                      .build()))
          .get();
    }
    return 3;
  }

  /** Sends {@link #GENERATION_REQUESTS}; returns request id -> send time (ms). */
  private Map<String, Long> requestGenerations(SchemaRegistryClient registry) throws Exception {
    String topic = topics.generationRequests();
    Map<String, Long> requested = new LinkedHashMap<>();
    say(
        "%n-> sending %d GenerationRequests to %s (%d images each; the last one is bad on purpose)",
        GENERATION_REQUESTS.size(), topic, setup.generateCount());
    try (KafkaProducer<String, GenerationRequest> producer =
        new KafkaProducer<>(
            props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      int i = 0;
      for (DemoRequest r : GENERATION_REQUESTS) {
        String id = "gen-" + r.slug() + "-" + runId;
        GenerationRequest req =
            GenerationRequest.newBuilder()
                .setRequestId(id)
                .setLabel(r.label())
                .setPrompt(r.prompt())
                .setCount(setup.generateCount())
                .setSeed(i++)
                .setGuidanceScale(Sampler.DEFAULT_GUIDANCE)
                .setSamplingSteps(Sampler.DEFAULT_STEPS)
                .build();
        requested.put(id, System.currentTimeMillis());
        RecordMetadata m = producer.send(new ProducerRecord<>(topic, id, req)).get();
        say(
            "  %-28s %-28s count %d -> partition %d offset %d",
            id, r.describe(), setup.generateCount(), m.partition(), m.offset());
      }
    }
    return requested;
  }

  /**
   * Waits (at most two minutes) until everything expected came back, printing progress every
   * second.
   */
  private void awaitResults(DemoWatcher watcher, Expected expected, long ts)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    long lastPrint = 0;
    while (System.nanoTime() < deadline
        && (watcher.tokens.size() < expected.tokens()
            || watcher.reconstructions.size() < expected.tokens()
            || watcher.deadLetters.size() < expected.deadLetters()
            || watcher.generated.size() < expected.images()
            || watcher.generationDeadLetters.size() < expected.rejects())) {
      Thread.sleep(100);
      if (System.nanoTime() - lastPrint > 1_000_000_000L) {
        lastPrint = System.nanoTime();
        progress(watcher, expected.tokens(), ts);
      }
    }
    progress(watcher, expected.tokens(), ts);
  }

  private void progress(DemoWatcher w, int expected, long t0) {
    double s = (System.nanoTime() - t0) / 1e9;
    say(
        "  t=%5.1fs  tokens %4d/%d  reconstructions %4d  dead letters %d  generated %d  %6.0f images/s  e2e p50 %4d ms p99 %4d ms",
        s,
        w.tokens.size(),
        expected,
        w.reconstructions.size(),
        w.deadLetters.size() + w.generationDeadLetters.size(),
        w.generated.size(),
        w.tokens.size() / s,
        w.percentile(50),
        w.percentile(99));
  }

  /** Dead letters, throughput, token size and latency. */
  private void printSummary(DemoWatcher watcher, int poison, double seconds) {
    int fashion = Math.max(1, setup.fashionImages());
    say("");
    say("Dead letters (%d):", watcher.deadLetters.size());
    watcher
        .deadLetters
        .values()
        .forEach(
            d ->
                say(
                    "  %-22s %-18s %s",
                    d.key(), d.value().getErrorClass(), abbreviate(d.value().getReason(), 90)));
    long tokenBytes =
        watcher.tokens.values().stream().mapToLong(r -> r.getTokens().remaining()).sum();
    long pngBytes =
        sent.values().stream()
                .filter(s -> s.contentType().equals("image/png"))
                .mapToLong(s -> s.bytes().length)
                .sum()
            / fashion
            * fashion;
    TokenRecord any = watcher.tokens.values().stream().findFirst().orElse(null);
    say("");
    say(
        "Summary: %d images in, %d token records, %d reconstructions, %d dead letters in %.1f s (%.0f images/s end to end)",
        sent.size() + poison,
        watcher.tokens.size(),
        watcher.reconstructions.size(),
        watcher.deadLetters.size(),
        seconds,
        watcher.tokens.size() / seconds);
    if (any != null) {
      say(
          "Tokens: %d x %d %s = %d bytes per image (Fashion-MNIST PNGs average %d bytes, raw 32x32 gray = 1024 bytes)",
          any.getTokenCount(),
          any.getTokenDim(),
          any.getDtype(),
          tokenBytes / Math.max(1, watcher.tokens.size()),
          pngBytes / fashion);
      say(
          "End-to-end latency (event time -> committed token): p50 %d ms, p99 %d ms",
          watcher.percentile(50), watcher.percentile(99));
    }
  }

  /** Tokens per model version, the version the encoders serve now, and the reconstruction grid. */
  private void printModelSwap(DemoWatcher watcher, int nextVersion) throws Exception {
    long swapDeadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (encoders.stream().anyMatch(e -> e.servingVersion() != nextVersion)
        && System.nanoTime() < swapDeadline) {
      Thread.sleep(100);
    }
    Map<Integer, Long> byVersion = new TreeMap<>();
    watcher.tokens.values().forEach(tr -> byVersion.merge(tr.getModelVersion(), 1L, Long::sum));
    say(
        "Tokens by model version: %s; encode workers now serve version %s; largest gap between token records (publishing included): %d ms",
        byVersion,
        encoders.stream().map(EncodeWorker::servingVersion).distinct().toList(),
        watcher.largestPauseMs());
    Path grid = setup.dataDir().resolve("reconstructions.png");
    int shown = writeGrid(grid, watcher);
    say(
        "Originals (top) and reconstructions (bottom) of %d images: %s",
        shown, grid.toAbsolutePath());
  }

  /**
   * The generation results, or why generation was skipped; true if everything came back as
   * expected.
   */
  private boolean printGeneration(
      DemoWatcher watcher, Map<String, Long> requested, Expected expected) throws IOException {
    if (generation == null) {
      say("Generation: skipped (%s)", setup.skipReason());
      return true;
    }
    Path folder = setup.dataDir().resolve("generated");
    DemoCommand.deleteRecursively(folder);
    Files.createDirectories(folder);
    Prompts prompts = Prompts.fashionMnist();
    say("");
    say(
        "Generation (%d requests, %d images each, %s, %d steps, guidance %.1f):",
        GENERATION_REQUESTS.size(),
        setup.generateCount(),
        watcher.generated.values().stream()
            .findFirst()
            .map(g -> g.getGeneratorModel().toString())
            .orElse("no images"),
        Sampler.DEFAULT_STEPS,
        Sampler.DEFAULT_GUIDANCE);
    List<List<BufferedImage>> rows = new ArrayList<>();
    int saved = 0;
    for (DemoRequest r : GENERATION_REQUESTS) {
      String id = "gen-" + r.slug() + "-" + runId;
      List<GeneratedImage> imgs =
          watcher.generated.values().stream()
              .filter(g -> g.getRequestId().toString().equals(id))
              .sorted(Comparator.comparingInt(GeneratedImage::getIndex))
              .toList();
      ConsumerRecord<String, DeadLetter> dead = watcher.generationDeadLetters.get(id);
      if (dead != null) {
        say(
            "  %-14s %-26s -> rejected (%s): %s",
            r.slug(), r.describe(), dead.value().getErrorClass(), dead.value().getReason());
        continue;
      }
      Long last = watcher.generatedArrival.get(id);
      long ms = last == null ? -1 : last - requested.getOrDefault(id, last);
      int label = imgs.isEmpty() ? -1 : imgs.get(0).getLabel();
      List<BufferedImage> row = new ArrayList<>();
      for (GeneratedImage g : imgs) {
        byte[] png = new byte[g.getPng().remaining()];
        g.getPng().duplicate().get(png);
        Files.write(folder.resolve(r.slug() + "-" + g.getIndex() + ".png"), png);
        row.add(ImageIO.read(new ByteArrayInputStream(png)));
        saved++;
      }
      if (!row.isEmpty()) {
        rows.add(row);
      }
      say(
          "  %-14s %-26s -> label %d (%s), %d images in %d ms",
          r.slug(),
          r.describe(),
          label,
          label >= 0 && label < prompts.size() ? prompts.classNames().get(label) : "?",
          imgs.size(),
          ms);
    }
    if (!rows.isEmpty()) {
      int cols = rows.stream().mapToInt(List::size).max().orElse(1);
      List<BufferedImage> cells = new ArrayList<>();
      BufferedImage blank =
          new BufferedImage(
              rows.get(0).get(0).getWidth(),
              rows.get(0).get(0).getHeight(),
              BufferedImage.TYPE_INT_RGB);
      for (List<BufferedImage> row : rows) {
        for (int i = 0; i < cols; i++) {
          cells.add(i < row.size() ? row.get(i) : blank);
        }
      }
      ImageIO.write(ImageGeneration.grid(cells, cols), "png", folder.resolve("grid.png").toFile());
    }
    say(
        "Generation summary: %d requests, %d images, %d rejected (%d dead-letter records)",
        requested.size(),
        watcher.generated.size(),
        watcher.generationDeadLetters.size(),
        watcher.generationDeadLetterRecords.get());
    say(
        "Generated images: %d PNG files and grid.png (one row per request) in %s",
        saved, folder.toAbsolutePath());
    return watcher.generated.size() == expected.images()
        && watcher.generationDeadLetterRecords.get() == expected.rejects();
  }

  private void keepRunning(EmbeddedPlatform platform) throws InterruptedException {
    say(
        "%nRunning until Ctrl-C. Try:%n  kcat -b %s -t %s -C -e -f '%%p@%%o key=%%k %%S bytes%%n'%n  curl %s/subjects",
        platform.bootstrapServers(), topics.tokens(), platform.schemaRegistryUrl());
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
    stop.await();
  }

  /** Graceful stop: each worker commits its in-flight batch. */
  private void stopWorkers() throws InterruptedException {
    workers.forEach(AbstractWorker::close);
    for (Thread t : threads) {
      t.join(30_000);
    }
  }

  private int writeGrid(Path file, DemoWatcher w) throws IOException {
    List<String> ids =
        sent.keySet().stream().filter(w.reconstructionPng::containsKey).limit(16).toList();
    if (ids.isEmpty()) {
      return 0;
    }
    int cell = 64;
    BufferedImage grid = new BufferedImage(ids.size() * cell, 2 * cell, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = grid.createGraphics();
    g.setColor(Color.DARK_GRAY);
    g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
    for (int i = 0; i < ids.size(); i++) {
      BufferedImage orig = ImageIO.read(new ByteArrayInputStream(sent.get(ids.get(i)).bytes()));
      BufferedImage rec =
          ImageIO.read(new ByteArrayInputStream(w.reconstructionPng.get(ids.get(i))));
      g.drawImage(orig, i * cell + 2, 2, cell - 4, cell - 4, null);
      g.drawImage(rec, i * cell + 2, cell + 2, cell - 4, cell - 4, null);
    }
    g.dispose();
    Files.createDirectories(file.getParent());
    ImageIO.write(grid, "png", file.toFile());
    return ids.size();
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }

  private static String abbreviate(String s, int n) {
    return s.length() <= n ? s : s.substring(0, n - 3) + "...";
  }
}
