package io.softstream.cli;

import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.worker.DecodeWorker;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.GenerateWorker;
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
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs the whole system on the embedded default: a real KRaft broker (child JVM), the schema registry,
 * the topics, two encode workers, a decode worker and a generation worker, then a stream of real images
 * (and a few poison pills) through Kafka and a few generation requests (labels, prompts and one bad
 * request), printing throughput, latency, dead letters and per-request results as it goes.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Start an embedded Kafka broker and schema registry, two encode workers, a decode worker and a "
        + "generation worker; stream real images (Fashion-MNIST and wallpaper photos from Debian packages) with a few "
        + "poison pills, and send generation requests (labels, prompts and one bad request); print what flowed, "
        + "throughput, latency, dead letters and per-request results; save originals next to reconstructions and the "
        + "generated images as PNG files."})
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--data-dir", defaultValue = "data/demo",
      description = "Where the broker keeps its data and the demo writes its images; reused across runs (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--fresh", description = "Delete the data directory first.")
  boolean fresh;

  @Option(names = "--fashion-images", defaultValue = "240", description = "Fashion-MNIST test images to stream (default: ${DEFAULT-VALUE}).")
  int fashionImages;

  @Option(names = "--photos", defaultValue = "8", description = "256x256 photo crops to stream (default: ${DEFAULT-VALUE}).")
  int photos;

  @Option(names = "--model", description = "Tokenizer model directory (default: the shipped Fashion-MNIST model).")
  Path model;

  @Option(names = "--engine", defaultValue = "auto", description = "auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--next-model",
      description = "Model published as the next version halfway through the stream (default: the shipped "
          + "models/softvq-fmnist-32-next when --model is the shipped tokenizer, else the same model again).")
  Path nextModel;

  @Option(names = "--registry-port", defaultValue = "0",
      description = "Schema registry port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int registryPort;

  @Option(names = "--generator", paramLabel = "DIR",
      description = "Generator for the generation requests (default: the shipped models/" + GeneratorOptions.SHIPPED
          + ", decoded by the shipped tokenizer it was trained on; a generator whose card names no shipped tokenizer "
          + "is decoded by --model if the token shapes fit, otherwise generation is skipped).")
  Path generator;

  @Option(names = "--generate-count", defaultValue = "4",
      description = "Images per generation request, 1..16 (default: ${DEFAULT-VALUE}).")
  int generateCount;

  @Option(names = "--no-generation", description = "Run no generation worker and send no generation requests.")
  boolean noGeneration;

  @Option(names = "--keep-running", description = "Keep everything up after the demo until Ctrl-C.")
  boolean keepRunning;

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

  /** Two labels, three prompts and one request the worker must reject (a prompt that names no class). */
  static final List<DemoRequest> GENERATION_REQUESTS = List.of(
      new DemoRequest("label-0", 0, null, true),
      new DemoRequest("label-8", 8, null, true),
      new DemoRequest("ankle-boot", null, "ankle boot", true),
      new DemoRequest("sneakers", null, "a pair of sneakers", true),
      new DemoRequest("dress", null, "dress", true),
      new DemoRequest("unicorn", null, "a unicorn", false));

  private PrintWriter out;

  @Override
  public Integer call() throws Exception {
    out = spec.commandLine().getOut();
    if (fresh) {
      deleteRecursively(dataDir);
    }
    Path modelDir = model != null ? model : ShippedModels.fashionMnist();
    List<SampleImages.Sample> samples = new ArrayList<>(SampleImages.fashionMnist(fashionImages));
    samples.addAll(SampleImages.photos(photos, 7));
    String runId = Long.toString(System.currentTimeMillis(), 36);
    say("Softstream demo: %d real images (%d Fashion-MNIST PNG, %d photo JPEG) + 3 poison pills; model %s",
        samples.size(), fashionImages, photos, modelDir);

    if (generateCount < 1 || generateCount > 16) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--generate-count " + generateCount
          + " is outside 1..16");
    }
    Path generatorDir = noGeneration ? null : generator != null ? generator : shippedGenerator();
    Path generationTokenizer = generatorDir == null ? null : generationTokenizer(generatorDir, modelDir);
    if (generationTokenizer == null) {
      generatorDir = null;
    }

    long t0 = System.nanoTime();
    try (EmbeddedPlatform platform = EmbeddedPlatform.start(dataDir, registryPort, TopicLayout.defaults())) {
      TopicLayout topics = platform.layout();
      say("Kafka broker (KRaft, child JVM) at %s, data in %s, up in %.1f s", platform.bootstrapServers(),
          platform.broker().dataDir(), (System.nanoTime() - t0) / 1e9);
      say("Schema registry (Confluent REST API, stored in topic %s) at %s", topics.schemas(), platform.schemaRegistryUrl());
      say("Topics: %d created, %d already there: %s", platform.topics().created().size(),
          platform.topics().existing().size(), String.join(", ", topics.all().stream()
              .map(t -> t.name() + "(" + t.partitions() + ")").toList()));

      Map<String, Object> props = platform.clientProperties();
      String modelName = io.softstream.model.ModelDir.readCard(modelDir).name();
      SchemaRegistryClient schemas = SchemaRegistryClients.create(props);
      io.softstream.topology.models.ModelRegistry models = new io.softstream.topology.models.ModelRegistry(props, schemas, topics);
      int firstVersion = publish(models, props, schemas, topics, modelDir, modelName);
      say("Published %s as version %d (ACTIVE) on %s, artifact in %s", modelName, firstVersion, topics.modelVersions(),
          topics.modelArtifacts());
      List<EncodeWorker> encoders = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      List<Runnable> stops = new ArrayList<>();
      long tw = System.nanoTime();
      for (String role : List.of("encode-1", "encode-2", "decode-1")) {
        Map<String, Object> c = new HashMap<>(props);
        c.put(WorkerConfig.WORKER_ID, "demo-" + role);
        c.put(WorkerConfig.MODEL_DIR, modelDir.toString());
        c.put(WorkerConfig.MODEL_NAME, modelName);
        c.put(WorkerConfig.MODEL_VERSION, firstVersion);
        c.put(WorkerConfig.MODEL_WATCH, true);
        c.put(WorkerConfig.MODEL_CACHE_DIR, dataDir.resolve("model-cache").toAbsolutePath().toString());
        c.put(WorkerConfig.ENGINE, engine);
        c.put(WorkerConfig.METRICS_PORT, 0);
        io.softstream.worker.AbstractWorker worker = role.startsWith("encode") ? new EncodeWorker(new WorkerConfig(c))
            : new DecodeWorker(new WorkerConfig(c));
        if (worker instanceof EncodeWorker e) {
          encoders.add(e);
        }
        say("%s worker demo-%s ready (metrics http://127.0.0.1:%d/metrics)", role.substring(0, 6), role, worker.metricsPort());
        threads.add(worker.startInBackground("demo-" + role));
        stops.add(worker::close);
      }
      GenerateWorker generation = null;
      if (generatorDir != null) {
        Map<String, Object> c = new HashMap<>(props);
        c.put(WorkerConfig.WORKER_ID, "demo-generate-1");
        c.put(WorkerConfig.MODEL_DIR, generationTokenizer.toString());
        if (generationTokenizer.equals(modelDir)) {
          c.put(WorkerConfig.MODEL_NAME, modelName);
          c.put(WorkerConfig.MODEL_VERSION, firstVersion);
        }
        c.put(WorkerConfig.ENGINE, engine);
        c.put(WorkerConfig.METRICS_PORT, 0);
        c.put(GenerationSettings.GENERATOR_DIR, generatorDir.toString());
        c.put(GenerationSettings.MAX_COUNT, 16);
        GenerateWorker g = new GenerateWorker(new WorkerConfig(c));
        generation = g;
        say("generate worker demo-generate-1 ready: %s, decoder %s (metrics http://127.0.0.1:%d/metrics)",
            g.generatorModel(), g.decoderModel(), g.metricsPort());
        threads.add(g.startInBackground("demo-generate-1"));
        stops.add(g::close);
      }
      say("Workers loaded and warmed up in %.1f s", (System.nanoTime() - tw) / 1e9);

      try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
          Watcher watcher = new Watcher(props, registry, topics, runId)) {
        watcher.start();
        long ts = System.nanoTime();
        int half = samples.size() / 2;
        Map<String, SampleImages.Sample> sent = new LinkedHashMap<>(produce(props, registry, topics.images(),
            samples.subList(0, half), runId));
        int nextVersion = publish(models, props, schemas, topics, nextModelFor(modelDir), modelName);
        say("   ... halfway: published %s version %d (ACTIVE); workers swap to it between batches", modelName, nextVersion);
        sent.putAll(produce(props, registry, topics.images(), samples.subList(half, samples.size()), runId));
        int poison = producePoison(props, topics.images(), runId);
        Map<String, Long> requested = generation == null ? Map.of()
            : produceGenerationRequests(props, registry, topics.generationRequests(), runId);
        int expectedImages = generation == null ? 0 : generateCount * (int) GENERATION_REQUESTS.stream()
            .filter(DemoRequest::valid).count();
        int expectedRejects = generation == null ? 0 : (int) GENERATION_REQUESTS.stream().filter(r -> !r.valid()).count();
        int expectedTokens = sent.size();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        long lastPrint = 0;
        while (System.nanoTime() < deadline
            && (watcher.tokens.size() < expectedTokens || watcher.reconstructions.size() < expectedTokens
                || watcher.deadLetters.size() < poison || watcher.generated.size() < expectedImages
                || watcher.generationDeadLetters.size() < expectedRejects)) {
          Thread.sleep(100);
          if (System.nanoTime() - lastPrint > 1_000_000_000L) {
            lastPrint = System.nanoTime();
            progress(watcher, expectedTokens, ts);
          }
        }
        progress(watcher, expectedTokens, ts);
        double seconds = (System.nanoTime() - ts) / 1e9;

        say("");
        say("Dead letters (%d):", watcher.deadLetters.size());
        watcher.deadLetters.values().forEach(d -> say("  %-22s %-18s %s", d.key(), d.value().getErrorClass(),
            abbreviate(d.value().getReason(), 90)));
        long tokenBytes = watcher.tokens.values().stream().mapToLong(r -> r.getTokens().remaining()).sum();
        long pngBytes = sent.values().stream().filter(s -> s.contentType().equals("image/png"))
            .mapToLong(s -> s.bytes().length).sum() / Math.max(1, fashionImages) * Math.max(1, fashionImages);
        TokenRecord any = watcher.tokens.values().stream().findFirst().orElse(null);
        say("");
        say("Summary: %d images in, %d token records, %d reconstructions, %d dead letters in %.1f s (%.0f images/s end to end)",
            sent.size() + poison, watcher.tokens.size(), watcher.reconstructions.size(), watcher.deadLetters.size(), seconds,
            watcher.tokens.size() / seconds);
        if (any != null) {
          say("Tokens: %d x %d %s = %d bytes per image (Fashion-MNIST PNGs average %d bytes, raw 32x32 gray = 1024 bytes)",
              any.getTokenCount(), any.getTokenDim(), any.getDtype(), tokenBytes / Math.max(1, watcher.tokens.size()),
              pngBytes / Math.max(1, fashionImages));
          say("End-to-end latency (event time -> committed token): p50 %d ms, p99 %d ms", watcher.percentile(50),
              watcher.percentile(99));
        }
        long swapDeadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (encoders.stream().anyMatch(e -> e.servingVersion() != nextVersion) && System.nanoTime() < swapDeadline) {
          Thread.sleep(100);
        }
        Map<Integer, Long> byVersion = new java.util.TreeMap<>();
        watcher.tokens.values().forEach(tr -> byVersion.merge(tr.getModelVersion(), 1L, Long::sum));
        say("Tokens by model version: %s; encode workers now serve version %s; largest gap between token records (publishing included): %d ms",
            byVersion, encoders.stream().map(EncodeWorker::servingVersion).distinct().toList(), watcher.largestPauseMs());
        Path grid = dataDir.resolve("reconstructions.png");
        int shown = writeGrid(grid, sent, watcher, runId);
        say("Originals (top) and reconstructions (bottom) of %d images: %s", shown, grid.toAbsolutePath());
        boolean generationOk = true;
        if (generation != null) {
          generationOk = reportGeneration(watcher, requested, runId, expectedImages, expectedRejects);
        } else {
          say("Generation: skipped (%s)", noGeneration ? "--no-generation" : "no generator for this tokenizer; pass --generator DIR");
        }
        say("Registry subjects: %s", registry.subjects());
        boolean ok = watcher.tokens.size() == expectedTokens && watcher.reconstructions.size() == expectedTokens
            && watcher.deadLetters.size() == poison && generationOk;
        if (keepRunning) {
          say("%nRunning until Ctrl-C. Try:%n  kcat -b %s -t %s -C -e -f '%%p@%%o key=%%k %%S bytes%%n'%n  curl %s/subjects",
              platform.bootstrapServers(), topics.tokens(), platform.schemaRegistryUrl());
          CountDownLatch stop = new CountDownLatch(1);
          Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
          stop.await();
        }
        stops.forEach(Runnable::run);
        for (Thread t : threads) {
          t.join(30_000);
        }
        models.close();
        schemas.close();
        say("Workers stopped cleanly; broker data kept in %s", platform.broker().dataDir());
        return ok ? 0 : 1;
      }
    }
  }

  /** Publishes {@code dir} as the next version of {@code name} for encoders and decoders, ACTIVE. */
  private static int publish(io.softstream.topology.models.ModelRegistry models, Map<String, Object> props,
      SchemaRegistryClient schemas, TopicLayout topics, Path dir, String name) {
    int version;
    try (io.softstream.topology.models.ModelCatalog catalog = new io.softstream.topology.models.ModelCatalog(props, schemas,
        topics.modelVersions())) {
      catalog.refresh(Duration.ofSeconds(10));
      version = Math.max(catalog.nextVersion(name, io.softstream.schemas.avro.ModelKind.ENCODER),
          catalog.nextVersion(name, io.softstream.schemas.avro.ModelKind.DECODER));
    }
    for (var kind : List.of(io.softstream.schemas.avro.ModelKind.ENCODER, io.softstream.schemas.avro.ModelKind.DECODER)) {
      models.publish(dir, name, kind, version, Map.of(), io.softstream.schemas.avro.ModelStatus.ACTIVE);
    }
    return version;
  }

  private void progress(Watcher w, int expected, long t0) {
    double s = (System.nanoTime() - t0) / 1e9;
    say("  t=%5.1fs  tokens %4d/%d  reconstructions %4d  dead letters %d  generated %d  %6.0f images/s  e2e p50 %4d ms p99 %4d ms",
        s, w.tokens.size(), expected, w.reconstructions.size(), w.deadLetters.size() + w.generationDeadLetters.size(),
        w.generated.size(), w.tokens.size() / s, w.percentile(50), w.percentile(99));
  }

  private Map<String, SampleImages.Sample> produce(Map<String, Object> props, SchemaRegistryClient registry, String topic,
      List<SampleImages.Sample> samples, String runId) throws Exception {
    Map<String, Object> p = new HashMap<>(props);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10 * 1024 * 1024);
    Map<String, SampleImages.Sample> sent = new LinkedHashMap<>();
    say("%n-> streaming %d ImageEvents to %s (first few shown)", samples.size(), topic);
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(p, new StringSerializer(),
        new AvroSerializer<>(registry, props, false))) {
      int i = 0;
      for (SampleImages.Sample s : samples) {
        String id = s.id() + "-" + runId;
        ImageEvent e = ImageEvent.newBuilder().setId(id).setSource(s.source()).setContentType(s.contentType())
            .setImageBytes(ByteBuffer.wrap(s.bytes())).setWidth(s.width()).setHeight(s.height())
            .setEventTime(Instant.now()).setAttributes(Map.of("label", s.label(), "run", runId)).build();
        RecordMetadata m = producer.send(new ProducerRecord<>(topic, id, e)).get();
        sent.put(id, s);
        if (i++ < 4 || s.contentType().equals("image/jpeg") && i < fashionImages + 2) {
          say("  %-28s %-10s %6d B %4dx%-4d %-12s -> partition %d offset %d", id, s.contentType(), s.bytes().length,
              s.width(), s.height(), s.label(), m.partition(), m.offset());
        }
        if (i % 40 == 0) {
          Thread.sleep(50); // a stream, not a single burst
        }
      }
    }
    return sent;
  }

  private int producePoison(Map<String, Object> props, String topic, String runId) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
        new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topic, ("poison-json-" + runId).getBytes(), "{\"not\": \"avro\"}".getBytes())).get();
      producer.send(new ProducerRecord<>(topic, ("poison-id-" + runId).getBytes(), new byte[] {0, 0, 1, 0, 0, 2, 'x'})).get();
    }
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(props, new StringSerializer(),
            new AvroSerializer<>(registry, props, false))) {
      producer.send(new ProducerRecord<>(topic, "poison-img-" + runId, ImageEvent.newBuilder().setId("poison-img-" + runId)
          .setSource("demo").setContentType("image/jpeg").setImageBytes(ByteBuffer.wrap("JFIF? no".getBytes()))
          .setEventTime(Instant.now()).build())).get();
    }
    return 3;
  }

  /**
   * What the demo publishes halfway: {@code --next-model}; else, for the shipped tokenizer, its retrained next
   * version (same architecture, trained at lr 2e-3: 24.6 dB against 19.0 dB) if it is there; else the same model.
   */
  private Path nextModelFor(Path modelDir) {
    if (nextModel != null) {
      return nextModel;
    }
    Path next = ShippedModels.root().resolve("models").resolve("softvq-fmnist-32-next");
    return model == null && Files.isDirectory(next) ? next : modelDir;
  }

  /** The shipped generator, or null (generation skipped, said so) when it is not there. */
  private static Path shippedGenerator() {
    Path shipped = ShippedModels.root().resolve("models").resolve(GeneratorOptions.SHIPPED);
    return Files.isDirectory(shipped) ? shipped : null;
  }

  /**
   * The tokenizer that decodes {@code generator}'s tokens: the shipped one named in its card, else the demo's
   * {@code tokenizer} if it has the generator's token shape; null (generation skipped) otherwise.
   */
  private static Path generationTokenizer(Path generator, Path tokenizer) throws Exception {
    Path named = GeneratorOptions.trainedOn(generator);
    if (named != null) {
      return named;
    }
    var gc = GeneratorDir.config(GeneratorDir.readCard(generator));
    var tc = io.softstream.model.ModelDir.readCard(tokenizer).tokenizerConfig();
    return gc.tokens() == tc.tokens() && gc.codeDim() == tc.codeDim() ? tokenizer : null;
  }

  /** Sends {@link #GENERATION_REQUESTS}; returns request id -> send time (ms). */
  private Map<String, Long> produceGenerationRequests(Map<String, Object> props, SchemaRegistryClient registry, String topic,
      String runId) throws Exception {
    Map<String, Long> sent = new LinkedHashMap<>();
    say("%n-> sending %d GenerationRequests to %s (%d images each; the last one is bad on purpose)",
        GENERATION_REQUESTS.size(), topic, generateCount);
    try (KafkaProducer<String, GenerationRequest> producer = new KafkaProducer<>(props, new StringSerializer(),
        new AvroSerializer<>(registry, props, false))) {
      int i = 0;
      for (DemoRequest r : GENERATION_REQUESTS) {
        String id = "gen-" + r.slug() + "-" + runId;
        GenerationRequest req = GenerationRequest.newBuilder().setRequestId(id).setLabel(r.label()).setPrompt(r.prompt())
            .setCount(generateCount).setSeed(i++).setGuidanceScale(Sampler.DEFAULT_GUIDANCE)
            .setSamplingSteps(Sampler.DEFAULT_STEPS).build();
        sent.put(id, System.currentTimeMillis());
        RecordMetadata m = producer.send(new ProducerRecord<>(topic, id, req)).get();
        say("  %-28s %-28s count %d -> partition %d offset %d", id, r.describe(), generateCount, m.partition(), m.offset());
      }
    }
    return sent;
  }

  /** Prints the per-request results, saves the images and a grid; true if everything came back as expected. */
  private boolean reportGeneration(Watcher w, Map<String, Long> requested, String runId, int expectedImages,
      int expectedRejects) throws IOException {
    Path folder = dataDir.resolve("generated");
    deleteRecursively(folder);
    Files.createDirectories(folder);
    io.softstream.worker.Prompts prompts = io.softstream.worker.Prompts.fashionMnist();
    say("");
    say("Generation (%d requests, %d images each, %s, %d steps, guidance %.1f):", GENERATION_REQUESTS.size(), generateCount,
        w.generated.values().stream().findFirst().map(g -> g.getGeneratorModel().toString()).orElse("no images"),
        Sampler.DEFAULT_STEPS, Sampler.DEFAULT_GUIDANCE);
    List<List<BufferedImage>> rows = new ArrayList<>();
    int saved = 0;
    for (DemoRequest r : GENERATION_REQUESTS) {
      String id = "gen-" + r.slug() + "-" + runId;
      List<GeneratedImage> imgs = w.generated.values().stream().filter(g -> g.getRequestId().toString().equals(id))
          .sorted(Comparator.comparingInt(GeneratedImage::getIndex)).toList();
      ConsumerRecord<String, DeadLetter> dead = w.generationDeadLetters.get(id);
      if (dead != null) {
        say("  %-14s %-26s -> rejected (%s): %s", r.slug(), r.describe(), dead.value().getErrorClass(),
            dead.value().getReason());
        continue;
      }
      Long last = w.generatedArrival.get(id);
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
      say("  %-14s %-26s -> label %d (%s), %d images in %d ms", r.slug(), r.describe(), label,
          label >= 0 && label < prompts.size() ? prompts.classNames().get(label) : "?", imgs.size(), ms);
    }
    if (!rows.isEmpty()) {
      int cols = rows.stream().mapToInt(List::size).max().orElse(1);
      List<BufferedImage> cells = new ArrayList<>();
      BufferedImage blank = new BufferedImage(rows.get(0).get(0).getWidth(), rows.get(0).get(0).getHeight(),
          BufferedImage.TYPE_INT_RGB);
      for (List<BufferedImage> row : rows) {
        for (int i = 0; i < cols; i++) {
          cells.add(i < row.size() ? row.get(i) : blank);
        }
      }
      ImageIO.write(ImageGeneration.grid(cells, cols), "png", folder.resolve("grid.png").toFile());
    }
    say("Generation summary: %d requests, %d images, %d rejected (%d dead-letter records)", requested.size(),
        w.generated.size(), w.generationDeadLetters.size(), w.generationDeadLetterRecords.get());
    say("Generated images: %d PNG files and grid.png (one row per request) in %s", saved, folder.toAbsolutePath());
    return w.generated.size() == expectedImages && w.generationDeadLetterRecords.get() == expectedRejects;
  }

  private int writeGrid(Path file, Map<String, SampleImages.Sample> sent, Watcher w, String runId) throws IOException {
    List<String> ids = sent.keySet().stream().filter(w.reconstructionPng::containsKey).limit(16).toList();
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
      BufferedImage rec = ImageIO.read(new ByteArrayInputStream(w.reconstructionPng.get(ids.get(i))));
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

  /** Reads the output topics (read_committed) and keeps what this run produced. */
  private static final class Watcher implements AutoCloseable {
    final Map<String, TokenRecord> tokens = new ConcurrentHashMap<>();
    final Map<String, ImageEvent> reconstructions = new ConcurrentHashMap<>();
    final Map<String, byte[]> reconstructionPng = new ConcurrentHashMap<>();
    final Map<String, ConsumerRecord<String, DeadLetter>> deadLetters = new ConcurrentHashMap<>();
    /** Generated images by "request id/index"; dead letters of generation requests by request id. */
    final Map<String, GeneratedImage> generated = new ConcurrentHashMap<>();
    final Map<String, Long> generatedArrival = new ConcurrentHashMap<>();
    final Map<String, ConsumerRecord<String, DeadLetter>> generationDeadLetters = new ConcurrentHashMap<>();
    final java.util.concurrent.atomic.AtomicInteger generationDeadLetterRecords = new java.util.concurrent.atomic.AtomicInteger();
    final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    final List<Long> tokenArrivals = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Object> props;
    private final SchemaRegistryClient registry;
    private final TopicLayout topics;
    private final String runId;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private Thread thread;

    Watcher(Map<String, Object> props, SchemaRegistryClient registry, TopicLayout topics, String runId) {
      this.props = props;
      this.registry = registry;
      this.topics = topics;
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
      try (KafkaConsumer<String, SpecificRecord> consumer = new KafkaConsumer<>(c, new StringDeserializer(),
          new AvroDeserializer<>(registry, null))) {
        consumer.subscribe(List.of(topics.tokens(), topics.reconstructions(), topics.deadLetters(),
            topics.generatedImages()));
        while (running.get()) {
          for (ConsumerRecord<String, SpecificRecord> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.key() == null || !r.key().endsWith(runId)) {
              continue; // an earlier run on the same data dir
            }
            if (r.value() instanceof TokenRecord t) {
              tokens.put(r.key(), t);
              tokenArrivals.add(System.currentTimeMillis());
              latencies.add(Math.max(0, System.currentTimeMillis() - t.getEventTime().toEpochMilli()));
            } else if (r.topic().equals(topics.reconstructions()) && r.value() instanceof ImageEvent e) {
              reconstructions.put(r.key(), e);
              reconstructionPng.put(r.key(), e.getImageBytes().array());
            } else if (r.value() instanceof GeneratedImage g) {
              generated.put(r.key() + "/" + g.getIndex(), g);
              generatedArrival.put(r.key(), System.currentTimeMillis());
            } else if (r.value() instanceof DeadLetter) {
              @SuppressWarnings("unchecked")
              ConsumerRecord<String, DeadLetter> d = (ConsumerRecord<String, DeadLetter>) (ConsumerRecord<?, ?>) r;
              if (r.key().startsWith("gen-")) {
                generationDeadLetters.put(r.key(), d);
                generationDeadLetterRecords.incrementAndGet();
              } else {
                deadLetters.put(r.key(), d);
              }
            }
          }
        }
      }
    }

    long largestPauseMs() {
      List<Long> l;
      synchronized (tokenArrivals) {
        l = new ArrayList<>(tokenArrivals);
      }
      long max = 0;
      for (int i = 1; i < l.size(); i++) {
        max = Math.max(max, l.get(i) - l.get(i - 1));
      }
      return max;
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

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      if (thread != null) {
        thread.join(5000);
      }
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
