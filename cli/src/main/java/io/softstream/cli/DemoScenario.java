package io.softstream.cli;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.ModelDir;
import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.CompletionStatus;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.TopicSpec;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import io.softstream.topology.streams.ingest.IngestGateApp;
import io.softstream.worker.AbstractWorker;
import io.softstream.worker.DecodeWorker;
import io.softstream.worker.EncodeWorker;
import io.softstream.worker.GenerateWorker;
import io.softstream.worker.LowPriority;
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
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;

/**
 * The demo as a story told with the public APIs a user calls: start the platform and the Kafka
 * Streams apps (ingest gate with token cache, generation fan-out/fan-in, statistics), publish a
 * model, start the workers, send images through the ingest gate, swap the model mid-run, send
 * poison pills and generation requests, re-send a share of the images so the token cache answers
 * them, wait for the results and print the summary, the generation completions and the stats app's
 * table. {@link #run} reads as that list of steps; each step prints what it did.
 */
final class DemoScenario {
  /**
   * What the demo runs.
   *
   * @param generator null: no generation worker and no generation requests ({@code skipReason} says
   *     why)
   * @param generationTokenizer the tokenizer that decodes the generator's tokens
   * @param warmUp Fashion-MNIST images sent through the gate before the stream, not counted (see
   *     {@link #warmUp})
   * @param photoModel the tokenizer of the photos, which go to their own topics ({@link
   *     #PHOTO_PREFIX}) with their own encode and decode worker; null: photos go through the ingest
   *     gate to {@code model} like the Fashion-MNIST images
   */
  record Setup(
      Path dataDir,
      int registryPort,
      Path model,
      Path nextModel,
      Path photoModel,
      List<SampleImages.Sample> warmUp,
      String engine,
      List<SampleImages.Sample> samples,
      int fashionImages,
      int photos,
      Path generator,
      Path generationTokenizer,
      int generateCount,
      String skipReason,
      double resendShare,
      boolean keepRunning,
      int dashboardPort) {}

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

  /**
   * The photos' topic set: a model for 64x64 colour photos and one for 32x32 grey images run side
   * by side on separate topics, in separate groups, as the README shows.
   */
  static final String PHOTO_PREFIX = "photos.";

  private final Setup setup;
  private final PrintWriter out;
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private final List<EncodeWorker> encoders = new ArrayList<>();
  private final List<AbstractWorker> workers = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final Map<String, SampleImages.Sample> sent = new LinkedHashMap<>();
  private final Map<String, SampleImages.Sample> resent = new LinkedHashMap<>();
  private Map<String, Object> props;
  private TopicLayout topics;
  private String modelName;

  /** The photos' topics, worker and model name; null without a photo model. */
  private TopicLayout photoTopics;

  private EncodeWorker photoEncoder;
  private String photoModelName;

  private GenerateWorker generation;
  private StreamsSettings streamsSettings;

  /** The live dashboard; null with --dashboard-port -1. */
  private Dashboard dashboard;

  // The swap's timeline (epoch ms), for the gap's breakdown.
  private volatile long streamStartMs;
  private volatile long publishStartMs;
  private volatile long publishEndMs;
  private volatile long swapMs;

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
        "Softstream demo: %d real images (%d Fashion-MNIST PNG, %d photo JPEG) + 3 poison pills; model %s%s",
        setup.samples().size(),
        setup.fashionImages(),
        setup.photos(),
        setup.model(),
        setup.photoModel() == null ? "" : ", photos: " + setup.photoModel());
    try (EmbeddedPlatform platform = startPlatform()) {
      props = platform.clientProperties();
      topics = platform.layout();
      modelName = ModelDir.readCard(setup.model()).name();
      if (setup.photoModel() != null) {
        photoModelName = ModelDir.readCard(setup.photoModel()).name();
        photoTopics = ensurePhotoTopics(platform);
      }
      StreamsRunner apps = startStreamsApps();
      dashboard = startDashboard(apps);
      boolean ok;
      try {
        ok = tellTheStory(platform, apps);
      } finally {
        if (dashboard != null) {
          dashboard.close();
        }
        stopWorkers();
        apps.close(Duration.ofSeconds(20));
      }
      say(
          "Workers stopped cleanly; Streams apps closed (state in %s); broker data kept in %s",
          streamsSettings.getString(StreamsSettings.STATE_DIR), platform.broker().dataDir());
      return ok ? 0 : 1;
    }
  }

  /** Everything between starting the apps and stopping them; true if everything came back. */
  private boolean tellTheStory(EmbeddedPlatform platform, StreamsRunner apps) throws Exception {
    // As in a real deployment, the model registry and the data path each have their own registry
    // client.
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(props);
        ModelRegistry models = new ModelRegistry(props, schemas, topics);
        SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        DemoWatcher watcher = new DemoWatcher(props, registry, topics, photoTopics, runId)) {
      int firstVersion = publishModel(models, schemas, setup.model());
      say(
          "Published %s as version %d (ACTIVE) on %s, artifact in %s",
          modelName, firstVersion, topics.modelVersions(), topics.modelArtifacts());
      startWorkers(firstVersion);
      watcher.start();
      awaitStreamsApps(apps);
      awaitEncoderPartitions();
      Instant statsFrom = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
      warmUp(registry, apps, statsFrom);
      Map<String, Long> statsBefore = statsCounts(apps, statsFrom);
      long ts = System.nanoTime();
      int nextVersion = nextVersion(schemas);
      sendImages(
          registry, setup.samples(), "-" + runId, sent, swapHalfway(models, nextVersion), false);
      int poison = sendPoisonPills(registry);
      Map<String, Long> requested = generation == null ? Map.of() : requestGenerations(registry);
      Expected expected = expected(poison);
      awaitResults(watcher, expected, ts, () -> watcher.tokens.keySet().containsAll(sent.keySet()));
      resendFromCache(apps, watcher, registry, nextVersion);
      expected = expected(poison);
      awaitResults(watcher, expected, ts, () -> false);
      printSummary(watcher, poison, (System.nanoTime() - ts) / 1e9);
      printModelSwap(watcher, nextVersion);
      boolean generationOk = printGeneration(watcher, requested, expected);
      printStats(apps, statsFrom, statsBefore, expected);
      say("Registry subjects: %s", registry.subjects());
      boolean ok =
          watcher.tokens.size() == expected.tokens()
              && watcher.reconstructions.size() == expected.tokens()
              && watcher.deadLetters.size() == poison
              && generationOk;
      if (setup.keepRunning()) {
        keepRunning(platform, apps);
      }
      return ok;
    }
  }

  /** What the demo waits for, from what it sent so far. */
  private Expected expected(int poison) {
    int valid = (int) GENERATION_REQUESTS.stream().filter(DemoRequest::valid).count();
    int invalid = GENERATION_REQUESTS.size() - valid;
    // The generation app splits every request into unit jobs; the worker dead-letters each job of
    // a bad one.
    int unit = streamsSettings.getInt(StreamsSettings.GENERATION_UNIT_SIZE);
    int jobs = (setup.generateCount() + unit - 1) / unit;
    boolean gen = generation != null;
    return new Expected(
        sent.size() + resent.size(),
        poison,
        gen ? setup.generateCount() * valid : 0,
        gen ? invalid * jobs : 0,
        gen ? valid : 0);
  }

  /**
   * What the demo waits for: token records (and as many reconstructions), dead letters of images,
   * generated images, dead-letter records of bad generation requests, generation completions.
   */
  private record Expected(int tokens, int deadLetters, int images, int rejects, int completions) {}

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
   * The photos' images, tokens, reconstructions and dead-letters topics ({@link #PHOTO_PREFIX}):
   * the photo workers read and write only these.
   */
  private TopicLayout ensurePhotoTopics(EmbeddedPlatform platform) {
    TopicLayout photos = TopicLayout.of(PHOTO_PREFIX);
    List<TopicSpec> specs =
        Stream.of(photos.images(), photos.tokens(), photos.reconstructions(), photos.deadLetters())
            .map(photos::spec)
            .toList();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", platform.bootstrapServers()))) {
      TopicAdmin.ensure(admin, specs);
    }
    say(
        "Photo topics (%s tokenizes the photos beside the ingest gate's pipeline): %s",
        photoModelName,
        String.join(", ", specs.stream().map(t -> t.name() + "(" + t.partitions() + ")").toList()));
    return photos;
  }

  /**
   * The Kafka Streams apps (ingest gate with its token cache, generation fan-out/fan-in,
   * statistics) in this JVM, as {@code softstream topology run} runs them: state under the data
   * dir, /metrics, /health and /stats on a free port. Starting returns at once; {@link
   * #awaitStreamsApps} waits.
   */
  private StreamsRunner startStreamsApps() throws IOException {
    Map<String, Object> c = new HashMap<>(props);
    c.put(
        StreamsSettings.STATE_DIR, setup.dataDir().resolve("streams").toAbsolutePath().toString());
    c.put(StreamsSettings.METRICS_PORT, 0);
    c.put(StreamsSettings.CACHE_MODEL_NAME, modelName);
    streamsSettings = new StreamsSettings(c);
    List<StreamsApp> all = StreamsApps.all();
    StreamsRunner apps = new StreamsRunner(streamsSettings, all);
    apps.start();
    say(
        "Kafka Streams apps %s starting (application.id %s, exactly_once_v2); /metrics, /health and /stats on http://127.0.0.1:%d",
        all.stream().map(StreamsApp::name).toList(),
        streamsSettings.applicationId("<app>"),
        apps.metricsPort());
    return apps;
  }

  /** The live dashboard, reading this platform and the stats app; null with --dashboard-port -1. */
  private Dashboard startDashboard(StreamsRunner apps) throws IOException {
    if (setup.dashboardPort() < 0) {
      return null;
    }
    Dashboard d = DashboardCommand.start(props, topics, setup.dashboardPort(), apps.metricsPort());
    say(
        "Dashboard: %s (live throughput, latency, dead letters, models, gallery, generation)",
        d.url());
    return d;
  }

  /** Waits (at most a minute) until every Streams app is RUNNING. */
  private void awaitStreamsApps(StreamsRunner apps) throws InterruptedException {
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofSeconds(60).toNanos();
    while (!apps.isReady() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    say(
        "Streams apps %s after %.1f s: images go in through %s, generation requests become unit jobs on %s",
        apps.states(), (System.nanoTime() - t0) / 1e9, topics.ingest(), topics.generationJobs());
  }

  /**
   * Waits (at most 30 s) until the encode workers hold every partition of the images topic between
   * them: the group assigns them after the workers' first polls, and images sent before would wait
   * for it.
   */
  private void awaitEncoderPartitions() throws InterruptedException {
    int partitions = topics.spec(topics.images()).partitions();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    java.util.Set<org.apache.kafka.common.TopicPartition> held = java.util.Set.of();
    while (System.nanoTime() < deadline) {
      held = new java.util.HashSet<>();
      for (EncodeWorker e : encoders) {
        held.addAll(e.assignment());
      }
      if (held.size() >= partitions && (photoEncoder == null || photoPartitionsHeld())) {
        break;
      }
      Thread.sleep(50);
    }
    say("Encode workers hold %d of %d partitions of %s", held.size(), partitions, topics.images());
  }

  private boolean photoPartitionsHeld() {
    return photoEncoder.assignment().size() >= photoTopics.spec(photoTopics.images()).partitions();
  }

  /**
   * Publishes {@code dir} as the next version of the model for encoders and decoders, ACTIVE;
   * returns the version.
   */
  private int publishModel(ModelRegistry models, SchemaRegistryClient schemas, Path dir) {
    int version = nextVersion(schemas);
    publish(models, dir, version);
    return version;
  }

  /** The version number the next publish gets (encoder and decoder share it). */
  private int nextVersion(SchemaRegistryClient schemas) {
    try (ModelCatalog catalog = new ModelCatalog(props, schemas, topics.modelVersions())) {
      catalog.refresh(Duration.ofSeconds(10));
      return Math.max(
          catalog.nextVersion(modelName, ModelKind.ENCODER),
          catalog.nextVersion(modelName, ModelKind.DECODER));
    }
  }

  private void publish(ModelRegistry models, Path dir, int version) {
    // The decoder first: a token of the new version must never reach a decoder that has not heard
    // of it (it would be dead-lettered as an unknown version).
    for (ModelKind kind : List.of(ModelKind.DECODER, ModelKind.ENCODER)) {
      models.publish(dir, modelName, kind, version, Map.of(), ModelStatus.ACTIVE);
    }
  }

  /** Called before each image of a stream is sent, with its index. */
  private interface Pace {
    void before(int i) throws Exception;
  }

  /** A stream at full pace. */
  private static final Pace FULL_PACE = i -> {};

  /**
   * One image every this many ms, below what the demo's pipeline sustains on 2 cores: a steady
   * stream, so that the gaps printed at the end are the pipeline's own. At full pace the demo built
   * a backlog in its first seconds (cold JVMs), which came out one transaction at a time, 0.5-0.7 s
   * apart, before and during the swap alike.
   */
  private static final long STREAM_PACE_MS = 80;

  /**
   * The stream's pace with a swap halfway: the next version is published on another thread while
   * the stream goes on (a swap must not stall it: the gap printed at the end covers publishing and
   * loading), one image every {@value #STREAM_PACE_MS} ms; the images to be re-sent ({@code
   * --resend-share}) wait for the swap, so that the token cache, which answers for the ACTIVE
   * version only, has them however late a loaded machine swaps.
   */
  private Pace swapHalfway(ModelRegistry models, int version) {
    int total = setup.samples().size();
    int half = total / 2;
    int reserve = Math.min(total - half, (int) Math.round(setup.resendShare() * total));
    streamStartMs = System.currentTimeMillis();
    return i -> {
      if (i > 0) {
        Thread.sleep(STREAM_PACE_MS);
      }
      if (i == half) {
        publishStartMs = System.currentTimeMillis();
        // Packing and uploading at a lower priority: they yield the cores to the workers in this
        // process.
        LowPriority.start(
            "demo-publisher",
            () -> {
              try {
                publish(models, setup.nextModel(), version);
              } catch (RuntimeException e) {
                say("   ... publishing version %d failed: %s", version, e);
                return;
              }
              publishEndMs = System.currentTimeMillis();
              say(
                  "   ... halfway: published %s version %d (ACTIVE) in %d ms while the stream went on; workers swap to it between batches",
                  modelName, version, publishEndMs - publishStartMs);
            });
      }
      if (i >= half && swapMs == 0) {
        if (encoders.stream().allMatch(w -> w.servingVersion() == version)) {
          swapMs = System.currentTimeMillis();
          say(
              "   ... encode workers serve version %d %d ms after publishing started (fetched, checksummed, loaded, warmed up and self-checked off the serving thread)",
              version, swapMs - publishStartMs);
        } else if (i >= total - reserve) {
          awaitSwap(version);
          swapMs = System.currentTimeMillis();
        }
      }
    };
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
      if (dashboard != null) {
        // The charts' fallback should the stats app stop answering.
        dashboard.addWorkerMetrics("127.0.0.1:" + worker.metricsPort());
      }
      start(worker, "demo-" + role);
    }
    if (photoTopics != null) {
      startPhotoWorkers();
    }
    if (setup.generator() != null) {
      Map<String, Object> c = workerConfig("generate-1", setup.generationTokenizer());
      if (setup.generationTokenizer().equals(setup.model())) {
        c.put(WorkerConfig.MODEL_NAME, modelName);
        c.put(WorkerConfig.MODEL_VERSION, firstVersion);
      }
      c.put(GenerationSettings.GENERATOR_DIR, setup.generator().toString());
      c.put(GenerationSettings.MAX_COUNT, 16);
      // The generation app splits each request into unit jobs; the worker serves those.
      c.put(GenerationSettings.INPUT_TOPIC, topics.generationJobs());
      generation = new GenerateWorker(new WorkerConfig(c));
      say(
          "generate worker demo-generate-1 ready: %s, decoder %s, reading %s (metrics http://127.0.0.1:%d/metrics)",
          generation.generatorModel(),
          generation.decoderModel(),
          topics.generationJobs(),
          generation.metricsPort());
      start(generation, "demo-generate-1");
    }
    say("Workers loaded and warmed up in %.1f s", (System.nanoTime() - tw) / 1e9);
  }

  /**
   * An encode and a decode worker of the photo model on the photos' topics, each in its own
   * consumer group (the default groups are shared by every worker of a role, whatever its topics).
   */
  private void startPhotoWorkers() throws Exception {
    for (String role : List.of("encode", "decode")) {
      Map<String, Object> c = workerConfig(role + "-photos", setup.photoModel());
      c.put(WorkerConfig.TOPIC_PREFIX, PHOTO_PREFIX);
      c.put(WorkerConfig.GROUP_ID, "softstream-photos-" + role);
      AbstractWorker worker =
          role.equals("encode")
              ? (photoEncoder = new EncodeWorker(new WorkerConfig(c)))
              : new DecodeWorker(new WorkerConfig(c));
      say(
          "%s worker demo-%s-photos ready: %s, %s (metrics http://127.0.0.1:%d/metrics)",
          role,
          role,
          photoModelName,
          role.equals("encode")
              ? photoTopics.images() + " -> " + photoTopics.tokens()
              : photoTopics.tokens() + " -> " + photoTopics.reconstructions(),
          worker.metricsPort());
      start(worker, "demo-" + role + "-photos");
    }
  }

  /** Whether {@code s} goes to the photos' topics rather than through the ingest gate. */
  private boolean isPhoto(SampleImages.Sample s) {
    return photoTopics != null && s.isPhoto();
  }

  /** How many of the images sent go to the photos' topics. */
  private int photosSent() {
    return (int) sent.values().stream().filter(this::isPhoto).count();
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

  /**
   * Sends {@code --warm-up} Fashion-MNIST images through the gate at the stream's pace and waits
   * (at most 30 s) until the stats app has counted their tokens, so that its figures for the run
   * start after them. A fresh process's first seconds run slower (interpreted code until the JIT
   * compiles it, first transactions): without a warm-up the stream's first 3 s took 400-800 ms from
   * send to token against ~180 ms after, and held its largest gaps. They are the test images after
   * the streamed ones (other content, so the token cache never answers for the stream with them),
   * under ids the watcher ignores (they do not end with the run id).
   */
  private void warmUp(SchemaRegistryClient registry, StreamsRunner apps, Instant statsFrom)
      throws Exception {
    List<SampleImages.Sample> warm = setup.warmUp();
    if (warm.isEmpty()) {
      return;
    }
    Map<String, Long> before = statsCounts(apps, statsFrom);
    long t0 = System.nanoTime();
    sendImages(
        registry,
        warm,
        "-" + runId + "-warm-up",
        new HashMap<>(),
        i -> Thread.sleep(i > 0 ? STREAM_PACE_MS : 0),
        true);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    Map<String, Long> now = before;
    while (System.nanoTime() < deadline
        && (total(now, "images_in") - total(before, "images_in") < warm.size()
            || total(now, "tokens_out") - total(before, "tokens_out") < warm.size())) {
      Thread.sleep(100);
      now = statsCounts(apps, statsFrom);
    }
    say(
        "%n-> warm-up: %d Fashion-MNIST images (the test images after the streamed ones; not in the figures below) through the gate and the encoders, one every %d ms, %d tokenized in %.1f s",
        warm.size(),
        STREAM_PACE_MS,
        total(now, "tokens_out") - total(before, "tokens_out"),
        (System.nanoTime() - t0) / 1e9);
  }

  /**
   * Streams {@code samples} as ImageEvents to the ingest topic (the gate checks them and answers
   * what its token cache knows), photos to the photos' images topic if there is a photo model,
   * printing the first few unless {@code quiet}; each id is the sample's id and {@code idSuffix},
   * and goes into {@code into}.
   */
  private void sendImages(
      SchemaRegistryClient registry,
      List<SampleImages.Sample> samples,
      String idSuffix,
      Map<String, SampleImages.Sample> into,
      Pace pace,
      boolean quiet)
      throws Exception {
    String topic = topics.ingest();
    Map<String, Object> p = new HashMap<>(props);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10 * 1024 * 1024);
    long photos = samples.stream().filter(this::isPhoto).count();
    sayUnless(
        quiet,
        "%n-> streaming %d ImageEvents to %s%s (first few shown)",
        samples.size(),
        topic,
        photos == 0 ? "" : ", the " + photos + " photos to " + photoTopics.images());
    try (KafkaProducer<String, ImageEvent> producer =
        new KafkaProducer<>(
            p, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      int i = 0;
      for (SampleImages.Sample s : samples) {
        pace.before(i);
        String id = s.id() + idSuffix;
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
        RecordMetadata m =
            producer
                .send(new ProducerRecord<>(isPhoto(s) ? photoTopics.images() : topic, id, e))
                .get();
        into.put(id, s);
        if (i++ < 4 || s.contentType().equals("image/jpeg") && i < setup.fashionImages() + 2) {
          sayUnless(
              quiet,
              "  %-30s %-10s %6d B %4dx%-4d %-12s -> partition %d offset %d",
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
   * Three records the ingest gate must dead-letter: not Avro, an unknown schema id, an undecodable
   * image.
   */
  private int sendPoisonPills(SchemaRegistryClient registry) throws Exception {
    String topic = topics.ingest();
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

  /**
   * Waits (at most 30 s) until every encode worker serves {@code version}: the second half of the
   * stream is then tokenized by it, so the token cache, which answers for the ACTIVE version only,
   * has something to answer with however late a loaded machine swaps.
   */
  private void awaitSwap(int version) throws InterruptedException {
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline
        && !encoders.stream().allMatch(w -> w.servingVersion() == version)) {
      Thread.sleep(20);
    }
    say(
        "   ... encode workers serve version %s after %d ms (fetched, checksummed, loaded, warmed up"
            + " and self-checked off the serving thread)",
        encoders.stream().map(w -> Integer.toString(w.servingVersion())).distinct().toList(),
        (System.nanoTime() - t0) / 1_000_000);
  }

  /**
   * Re-sends a share ({@code resendShare}) of the images that {@code version} (the active encoder)
   * tokenized, under new ids, once their tokens are in the ingest gate's token cache (asked through
   * an interactive query of its store): the gate answers each from the cache, no encoder runs.
   */
  private void resendFromCache(
      StreamsRunner apps, DemoWatcher watcher, SchemaRegistryClient registry, int version)
      throws Exception {
    int gated = sent.size() - photosSent();
    int want = (int) Math.round(setup.resendShare() * gated);
    if (want == 0) {
      return;
    }
    // Cache keys (model:version:sha256) of the images this version tokenized, in sending order.
    Map<String, String> keys = new LinkedHashMap<>();
    for (String id : sent.keySet()) {
      TokenRecord t = watcher.tokens.get(id);
      if (t != null
          && !isPhoto(sent.get(id))
          && t.getModelVersion() == version
          && !t.getCacheHit()
          && t.getContentSha256() != null) {
        keys.put(id, t.getModelName() + ":" + t.getModelVersion() + ":" + t.getContentSha256());
      }
    }
    List<String> cached = List.of();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      cached = cachedIds(apps, keys);
      if (cached.size() >= Math.min(want, keys.size())) {
        break;
      }
      Thread.sleep(100);
    }
    List<SampleImages.Sample> again =
        cached.stream().limit(want).map(sent::get).collect(Collectors.toList());
    if (again.isEmpty()) {
      say(
          "%n-> re-sending none of the %d images: %s:%d, the encoder the token cache answers for, tokenized none of them (the workers swapped to it after the stream)",
          gated, modelName, version);
      return;
    }
    say(
        "%n-> re-sending %d of the %d images (%.0f%%) that %s:%d tokenized, under new ids: their tokens are in the token cache (%d of %d looked up in store %s)",
        again.size(),
        gated,
        100 * setup.resendShare(),
        modelName,
        version,
        cached.size(),
        keys.size(),
        IngestGateApp.CACHE_STORE);
    sendImages(registry, again, "-again-" + runId, resent, FULL_PACE, false);
  }

  /** The ids whose cache key the ingest gate's token-cache store holds, in order. */
  private static List<String> cachedIds(StreamsRunner apps, Map<String, String> keys) {
    try {
      ReadOnlyKeyValueStore<String, ValueAndTimestamp<TokenRecord>> store =
          apps.streams(IngestGateApp.NAME)
              .store(
                  StoreQueryParameters.fromNameAndType(
                      IngestGateApp.CACHE_STORE,
                      QueryableStoreTypes.<String, TokenRecord>timestampedKeyValueStore()));
      return keys.entrySet().stream()
          .filter(e -> store.get(e.getValue()) != null)
          .map(Map.Entry::getKey)
          .toList();
    } catch (InvalidStateStoreException e) {
      return List.of(); // rebalancing: ask again
    }
  }

  /** Sends {@link #GENERATION_REQUESTS}; returns request id -> send time (ms). */
  private Map<String, Long> requestGenerations(SchemaRegistryClient registry) throws Exception {
    String topic = topics.generationRequests();
    Map<String, Long> requested = new LinkedHashMap<>();
    say(
        "%n-> sending %d GenerationRequests to %s (%d images each, unit jobs of at most %d; the last one is bad on purpose)",
        GENERATION_REQUESTS.size(),
        topic,
        setup.generateCount(),
        streamsSettings.getInt(StreamsSettings.GENERATION_UNIT_SIZE));
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
   * Waits (at most two minutes) until everything expected came back or {@code enough} holds,
   * printing progress every second.
   */
  private void awaitResults(DemoWatcher watcher, Expected expected, long ts, BooleanSupplier enough)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    long lastPrint = 0;
    while (System.nanoTime() < deadline
        && !enough.getAsBoolean()
        && (watcher.tokens.size() < expected.tokens()
            || watcher.reconstructions.size() < expected.tokens()
            || watcher.deadLetters.size() < expected.deadLetters()
            || watcher.generated.size() < expected.images()
            || watcher.generationDeadLetterRecords.get() < expected.rejects()
            || watcher.completions.size() < expected.completions())) {
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
        "  t=%5.1fs  tokens %4d/%d (cache hits %d)  reconstructions %4d  dead letters %d  generated %d  completions %d  %6.0f images/s  e2e p50 %4d ms p99 %4d ms",
        s,
        w.tokens.size(),
        expected,
        w.cacheHits(),
        w.reconstructions.size(),
        w.deadLetters.size() + w.generationDeadLetters.size(),
        w.generated.size(),
        w.completions.size(),
        w.tokens.size() / s,
        w.percentile(50),
        w.percentile(99));
  }

  /** Dead letters, throughput, token size and latency. */
  private void printSummary(DemoWatcher watcher, int poison, double seconds) {
    int fashion = Math.max(1, setup.fashionImages());
    say("");
    say(
        "Dead letters (%d, written by %s):",
        watcher.deadLetters.size(),
        watcher.deadLetters.values().stream()
            .map(d -> String.valueOf(d.value().getWorkerId()))
            .distinct()
            .sorted()
            .toList());
    watcher
        .deadLetters
        .values()
        .forEach(
            d ->
                say(
                    "  %-22s %-18s %s",
                    d.key(), d.value().getErrorClass(), abbreviate(d.value().getReason(), 90)));
    List<TokenRecord> gateTokens =
        watcher.tokens.values().stream().filter(t -> t.getModelName().equals(modelName)).toList();
    long tokenBytes = gateTokens.stream().mapToLong(r -> r.getTokens().remaining()).sum();
    long pngBytes =
        sent.values().stream()
                .filter(s -> s.contentType().equals("image/png"))
                .mapToLong(s -> s.bytes().length)
                .sum()
            / fashion
            * fashion;
    TokenRecord any = gateTokens.stream().findFirst().orElse(null);
    say("");
    say(
        "Summary: %d images in (%d re-sent), %d token records, %d reconstructions, %d dead letters in %.1f s (%.0f images/s end to end)",
        sent.size() + resent.size() + poison,
        resent.size(),
        watcher.tokens.size(),
        watcher.reconstructions.size(),
        watcher.deadLetters.size(),
        seconds,
        watcher.tokens.size() / seconds);
    long hitsOfResent =
        resent.keySet().stream()
            .map(watcher.tokens::get)
            .filter(t -> t != null && t.getCacheHit())
            .count();
    say(
        "cache hits: %d (%d of the %d re-sent images answered from the token cache by the ingest gate, same tokens, no encoder run)",
        watcher.cacheHits(), hitsOfResent, resent.size());
    if (any != null) {
      say(
          "Tokens: %d x %d %s = %d bytes per image (Fashion-MNIST PNGs average %d bytes, raw 32x32 gray = 1024 bytes)",
          any.getTokenCount(),
          any.getTokenDim(),
          any.getDtype(),
          tokenBytes / Math.max(1, gateTokens.size()),
          pngBytes / fashion);
      say(
          "End-to-end latency (event time -> committed token): p50 %d ms, p99 %d ms",
          watcher.percentile(50), watcher.percentile(99));
    }
    printPhotos(watcher);
  }

  /** What the photo model made of the photos: token records, their size, reconstructions. */
  private void printPhotos(DemoWatcher watcher) {
    if (photoTopics == null || photosSent() == 0) {
      return;
    }
    List<String> ids = sent.keySet().stream().filter(id -> isPhoto(sent.get(id))).toList();
    List<TokenRecord> t = ids.stream().map(watcher.tokens::get).filter(r -> r != null).toList();
    long reconstructed = ids.stream().filter(watcher.reconstructions::containsKey).count();
    long jpegBytes = ids.stream().mapToLong(id -> sent.get(id).bytes().length).sum();
    TokenRecord any = t.isEmpty() ? null : t.get(0);
    say(
        "Photos: %d of %d tokenized by %s on %s%s, %d reconstructed by it on %s",
        t.size(),
        ids.size(),
        any == null ? photoModelName : any.getModelName() + ":" + any.getModelVersion(),
        photoTopics.tokens(),
        any == null
            ? ""
            : String.format(
                " (%d x %d %s = %d bytes per photo; the 256x256 JPEG crops average %d bytes)",
                any.getTokenCount(),
                any.getTokenDim(),
                any.getDtype(),
                any.getTokens().remaining(),
                jpegBytes / ids.size()),
        reconstructed,
        photoTopics.reconstructions());
  }

  /** Tokens per model version, the version the encoders serve now, and the reconstruction grid. */
  private void printModelSwap(DemoWatcher watcher, int nextVersion) throws Exception {
    long swapDeadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (encoders.stream().anyMatch(e -> e.servingVersion() != nextVersion)
        && System.nanoTime() < swapDeadline) {
      Thread.sleep(100);
    }
    Map<Integer, Long> byVersion = new TreeMap<>();
    watcher.tokens.values().stream()
        .filter(tr -> tr.getModelName().equals(modelName))
        .forEach(tr -> byVersion.merge(tr.getModelVersion(), 1L, Long::sum));
    DemoWatcher.Gap gap = watcher.largestGap(sent.size() - photosSent());
    say(
        "Tokens by model version: %s; encode workers now serve version %s; largest gap between token records of the stream (publishing included): %d ms",
        byVersion,
        encoders.stream().map(EncodeWorker::servingVersion).distinct().toList(),
        gap.ms());
    // Where the gap was, on the swap's timeline (seconds since the stream started), and where the
    // record that ended it spent the gap: not yet sent, on its way to a worker, or on its way back.
    say(
        "   the gap: from a version %d record at %s to a version %d record at %s (sent at %s, written by its worker at %s; %d images sent during the gap); publishing ran %s-%s, the encoders served version %d from %s (stream started %s)",
        gap.from().version(),
        sinceStream(gap.from().ms()),
        gap.to().version(),
        sinceStream(gap.to().ms()),
        sinceStream(gap.to().sentMs()),
        sinceStream(gap.to().writtenMs()),
        gap.sentDuring(),
        sinceStream(publishStartMs),
        sinceStream(publishEndMs),
        nextVersion,
        sinceStream(swapMs),
        Instant.ofEpochMilli(streamStartMs));
    say(
        "   the same stream's largest gap before publishing started (no swap yet): %d ms; while the version was published and loaded (until the encoders served it): %d ms",
        watcher.largestGap(sent.size() - photosSent(), 0, publishStartMs).ms(),
        watcher
            .largestGap(
                sent.size() - photosSent(), publishStartMs, swapMs == 0 ? Long.MAX_VALUE : swapMs)
            .ms());
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
    boolean complete = printCompletions(watcher, requested);
    return watcher.generated.size() == expected.images()
        && watcher.generationDeadLetterRecords.get() == expected.rejects()
        && complete;
  }

  /**
   * The generation app's one completion per request; true if every good request is COMPLETE with
   * every index.
   */
  private boolean printCompletions(DemoWatcher watcher, Map<String, Long> requested) {
    say("Generation completions (generation app, on %s):", topics.generationCompletions());
    boolean ok = true;
    for (DemoRequest r : GENERATION_REQUESTS) {
      String id = "gen-" + r.slug() + "-" + runId;
      GenerationCompletion c = watcher.completions.get(id);
      if (c == null) {
        ConsumerRecord<String, DeadLetter> dead = watcher.generationDeadLetters.get(id);
        say(
            "  %-28s none yet: %s",
            id,
            dead != null
                ? "its job was dead-lettered ("
                    + dead.value().getErrorClass()
                    + "); the app closes it PARTIAL after generation.timeout.ms ("
                    + streamsSettings.getLong(StreamsSettings.GENERATION_TIMEOUT_MS) / 1000
                    + " s)"
                : "no completion and no dead letter");
        ok &= !r.valid();
        continue;
      }
      say(
          "  %-28s %-8s images %s of %d (%d job%s)%s, %d ms after the request",
          id,
          c.getStatus(),
          c.getIndicesReceived(),
          c.getCountExpected(),
          c.getJobs(),
          c.getJobs() == 1 ? "" : "s",
          c.getMissingIndices().isEmpty() ? "" : ", missing " + c.getMissingIndices(),
          c.getCompletedTime().toEpochMilli() - c.getRequestedTime().toEpochMilli());
      ok &=
          r.valid()
              && c.getStatus() == CompletionStatus.COMPLETE
              && c.getIndicesReceived().size() == setup.generateCount();
    }
    return ok;
  }

  /**
   * Counts of every statistic (metric|model|worker|error class) in the stats app's 1-minute windows
   * from {@code from} on, as its /stats interactive query answers them; empty while the stores are
   * not queryable.
   */
  private static Map<String, Long> statsCounts(StreamsRunner apps, Instant from)
      throws IOException, InterruptedException {
    List<DemoWatcher.Stat> stats = DemoWatcher.queryStats(apps.metricsPort(), "1m");
    Map<String, Long> counts = new TreeMap<>();
    if (stats != null) {
      stats.stream()
          .filter(st -> !st.start().isBefore(from))
          .forEach(st -> counts.merge(st.key(), st.count(), Long::sum));
    }
    return counts;
  }

  /**
   * The stats app's table for this run: counts from its 1-minute windows since the run began, less
   * what they held before it (an earlier run on the same data dir may share a window), and latency
   * percentiles per model version and worker from the 5-minute window that starts with the run.
   * Waits (at most 20 s) until the counts agree with what came back.
   */
  private void printStats(
      StreamsRunner apps, Instant from, Map<String, Long> before, Expected expected)
      throws IOException, InterruptedException {
    Map<String, Long> delta = Map.of();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    long wantDead = expected.deadLetters() + expected.rejects();
    while (true) {
      Map<String, Long> now = statsCounts(apps, from);
      Map<String, Long> d = new TreeMap<>();
      now.forEach(
          (k, v) -> {
            long n = v - before.getOrDefault(k, 0L);
            if (n != 0) {
              d.put(k, n);
            }
          });
      delta = d;
      if (total(delta, "images_in") == sent.size() - photosSent()
              && total(delta, "tokens_out") == expected.tokens() - photosSent()
              && total(delta, "dead_letters") == wantDead
              && total(delta, "cache_hits") >= resent.size()
          || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(250);
    }
    Map<String, Long> counts = delta;
    Map<String, long[]> latency = new TreeMap<>();
    List<DemoWatcher.Stat> fiveMinutes = DemoWatcher.queryStats(apps.metricsPort(), "5m");
    if (fiveMinutes != null) {
      for (DemoWatcher.Stat st : fiveMinutes) {
        if (st.start().equals(from) && st.metric().equals("tokens_out")) {
          latency.put(st.model() + "|" + st.worker(), new long[] {st.p50(), st.p95(), st.p99()});
        }
      }
    }
    say("");
    say(
        "Pipeline statistics (stats app: %s, this run; every update also on topic %s%s):",
        DemoWatcher.statsUri(apps.metricsPort(), "1m"),
        topics.stats(),
        photosSent() == 0 ? "" : "; the photos' topics are not in them");
    say(
        "  images in %d   tokens out %d   cache hits %d   dead letters %d",
        total(counts, "images_in"),
        total(counts, "tokens_out"),
        total(counts, "cache_hits"),
        total(counts, "dead_letters"));
    Map<String, Long> byClass = new TreeMap<>();
    counts.forEach(
        (k, v) -> {
          String[] p = k.split("\\|", -1);
          if (p[0].equals("dead_letters")) {
            byClass.merge(p[3], v, Long::sum);
          }
        });
    say(
        "  dead letters by class: %s",
        byClass.entrySet().stream()
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", ")));
    int width =
        counts.keySet().stream()
            .mapToInt(k -> k.split("\\|", -1)[1].length())
            .reduce("model version".length(), Math::max);
    String row = "  %-" + width + "s  %-20s %11s %11s %28s";
    say(row, "model version", "worker", "tokens out", "cache hits", "latency p50 / p95 / p99 ms");
    counts.forEach(
        (k, v) -> {
          String[] p = k.split("\\|", -1);
          if (p[0].equals("tokens_out")) {
            long hits = counts.getOrDefault("cache_hits|" + p[1] + "|" + p[2] + "|" + p[3], 0L);
            long[] l = latency.getOrDefault(p[1] + "|" + p[2], new long[] {-1, -1, -1});
            say(
                row,
                p[1],
                p[2].equals("-") ? "- (token cache)" : p[2],
                Long.toString(v),
                Long.toString(hits),
                l[0] + " / " + l[1] + " / " + l[2]);
          }
        });
  }

  /** The sum of one metric's counts. */
  private static long total(Map<String, Long> counts, String metric) {
    return counts.entrySet().stream()
        .filter(e -> e.getKey().startsWith(metric + "|"))
        .mapToLong(Map.Entry::getValue)
        .sum();
  }

  private void keepRunning(EmbeddedPlatform platform, StreamsRunner apps)
      throws InterruptedException {
    say(
        "%nRunning until Ctrl-C. Try:%n  kcat -b %s -t %s -C -e -f '%%p@%%o key=%%k %%S bytes%%n'%n  curl %s/subjects%n  curl '%s'",
        platform.bootstrapServers(),
        topics.tokens(),
        platform.schemaRegistryUrl(),
        DemoWatcher.statsUri(apps.metricsPort(), "1m"));
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
    // Up to 4 photos at the end of the row, Fashion-MNIST images before them.
    List<String> photos =
        sent.keySet().stream()
            .filter(id -> isPhoto(sent.get(id)) && w.reconstructionPng.containsKey(id))
            .limit(4)
            .toList();
    List<String> ids =
        new ArrayList<>(
            sent.keySet().stream()
                .filter(id -> !isPhoto(sent.get(id)) && w.reconstructionPng.containsKey(id))
                .limit(16 - photos.size())
                .toList());
    ids.addAll(photos);
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

  private String sinceStream(long epochMs) {
    return epochMs == 0 ? "?" : String.format("%.2f s", (epochMs - streamStartMs) / 1e3);
  }

  private void sayUnless(boolean quiet, String fmt, Object... args) {
    if (!quiet) {
      say(fmt, args);
    }
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }

  private static String abbreviate(String s, int n) {
    return s.length() <= n ? s : s.substring(0, n - 3) + "...";
  }
}
