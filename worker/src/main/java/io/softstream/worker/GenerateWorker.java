package io.softstream.worker;

import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.Sampler;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.worker.generation.ContinuousBatching;
import io.softstream.worker.generation.GenerationSettings;
import io.softstream.worker.generation.ImageGeneration;
import io.softstream.worker.internals.ModelFeed;
import io.softstream.worker.internals.ModelSlot;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code GenerationRequest}s, samples their images with continuous batching ({@link
 * ContinuousBatching}: requests that arrive while others are mid-sampling join their forward passes
 * at the next step, at most {@code generation.max.batch.images} images in flight; each image's
 * noise comes from its own seed, so its pixels do not depend on its batch mates), decodes them with
 * the tokenizer the generator was trained on and publishes one {@code GeneratedImage} per image,
 * keyed by request id, exactly once: a batch of requests commits in one transaction once all its
 * images are made. A request with a label out of range, an unknown prompt, a count above {@code
 * generation.max.count}, steps outside [1, 1000] or guidance outside [0, 20] becomes a dead letter
 * whose reason names the accepted values.
 *
 * <p>With {@code generator.watch=true} it follows the ACTIVE generator version of {@code
 * generator.name} and the ACTIVE decoder version of the tokenizer ({@code model.name}, or the
 * card's name): each newly announced one is fetched, checksummed, loaded, warmed up and
 * self-checked off the serving thread in its own model slot. Generator and decoder switch only when
 * no request is being sampled (requests wait to be admitted while a swap is pending, so the ones in
 * flight finish first) and only as a matching pair (same token count and dimension): a version that
 * does not fit the other one serving is held back, with a log line, and the current pair keeps
 * serving until a version of the other kind that fits it is announced (a generator trained on a new
 * tokenizer shape waits for that tokenizer's decoder, and vice versa). Each image names the
 * generator and decoder versions that made it.
 *
 * <p>Settings: the usual worker keys ({@code model.dir} is the tokenizer whose decoder serves
 * first) plus the keys of {@link GenerationSettings}.
 */
public final class GenerateWorker extends AbstractWorker {
  private static final Logger log = LoggerFactory.getLogger(GenerateWorker.class);
  private final GenerationSettings settings;
  private final Prompts prompts;
  private final AvroDeserializer<GenerationRequest> requests;
  private final AvroSerializer<GeneratedImage> images;
  private final ModelFeed feed;
  private final ModelSlot<GeneratorRuntime> generators;
  private final ModelSlot<TokenizerRuntime> decoders;
  private int classes;
  // The pair serving now, held across batches (sampling thread only, once it started) so that a
  // version held back for
  // not
  // fitting stays open while its successor waits for a partner.
  private ModelSlot.Lease<GeneratorRuntime> generator;
  private ModelSlot.Lease<TokenizerRuntime> decoder;
  private volatile String heldBack = "";
  private volatile String generatorModel;
  private volatile String decoderModel;
  // The slots' versions when the pair was last taken (sampling thread only).
  private ModelSlot.Model<GeneratorRuntime> seenGenerator;
  private ModelSlot.Model<TokenizerRuntime> seenDecoder;
  private ContinuousBatching sampler;

  /** A request that passed validation, with its resolved label. */
  private record Valid(
      ConsumerRecord<byte[], byte[]> source, GenerationRequest request, int label) {}

  public GenerateWorker(WorkerConfig config) {
    super(
        config,
        "generate",
        GenerationSettings.from(config.originals())
            .inputTopic(layout(config).generationRequests()));
    this.settings = GenerationSettings.from(config.originals());
    this.feed =
        settings.watch()
            ? new ModelFeed(
                config.clientConfig(),
                registry,
                topics,
                Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR)))
            : null;
    ModelSlot.Artifacts artifacts = feed != null ? feed.artifacts() : null;
    Path cache = feed != null ? feed.cacheDir() : null;
    this.generators =
        new ModelSlot<>(
            new ModelSlot.Settings(settings.generatorName(), ModelKind.GENERATOR, 0, 0),
            artifacts,
            cache,
            (dir, v) -> openGenerator(dir, v.getName() + ":" + v.getVersion()),
            metrics);
    String tokenizerDir = config.getString(WorkerConfig.MODEL_DIR);
    TokenizerRuntime local = null;
    try {
      local =
          tokenizerDir.isEmpty()
              ? null
              : openDecoder(Path.of(tokenizerDir), "tokenizer " + tokenizerDir);
    } catch (RuntimeException e) {
      release();
      throw e;
    }
    String dName =
        config.getString(WorkerConfig.MODEL_NAME).isEmpty() && local != null
            ? local.card().name()
            : config.getString(WorkerConfig.MODEL_NAME);
    this.decoders =
        new ModelSlot<>(
            new ModelSlot.Settings(dName, ModelKind.DECODER, 0, 0),
            artifacts,
            cache,
            (dir, v) -> openDecoder(dir, v.getName() + ":" + v.getVersion()),
            metrics);
    try {
      if (local != null) {
        decoders.startOn(dName, config.getInt(WorkerConfig.MODEL_VERSION), local);
      }
      List<ModelVersion> announced = feed != null ? feed.readNow() : List.of();
      if (local == null) {
        Optional<ModelVersion> active = decoders.activeIn(announced);
        if (active.isEmpty()) {
          throw new IllegalStateException(
              "No model.dir is given and no active decoder of "
                  + dName
                  + " is announced on "
                  + topics.modelVersions()
                  + (feed == null ? " (generator.watch is off)" : "")
                  + ": pass model.dir or publish one");
        }
        decoders.startOn(active.get());
      }
      Optional<ModelVersion> active = generators.activeIn(announced);
      if (active.isPresent()) {
        try {
          generators.startOn(active.get());
        } catch (Exception e) {
          if (settings.generatorDir() == null) {
            throw e;
          }
          log.error(
              "Active generator {}:{} cannot be served ({}); starting on {}",
              settings.generatorName(),
              active.get().getVersion(),
              e.getMessage(),
              settings.generatorDir());
        }
      }
      if (generators.activeVersion() == 0) {
        if (settings.generatorDir() == null) {
          throw new IllegalStateException(
              "No active generator version of "
                  + settings.generatorName()
                  + " is announced on "
                  + topics.modelVersions()
                  + " and no generator.dir is given: publish one or pass generator.dir");
        }
        GeneratorRuntime g =
            openGenerator(settings.generatorDir(), "generator " + settings.generatorDir());
        String gName =
            settings.generatorName().isEmpty() ? g.card().name() : settings.generatorName();
        generators.startOn(gName, settings.generatorVersion(), g);
      }
      // The first pair is taken here, before the feed can stage anything, and must fit.
      generator = generators.begin();
      decoder = decoders.begin();
      mismatch(generator, decoder)
          .ifPresent(
              m -> {
                throw new IllegalStateException(m);
              });
      this.generatorModel = generator.model().toString();
      this.decoderModel = decoder.model().toString();
      this.prompts = classes == 10 ? Prompts.fashionMnist() : Prompts.numbered(classes);
      this.requests = new AvroDeserializer<>(registry, GenerationRequest.class);
      this.requests.configure(config.serdeConfig(), false);
      this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
    } catch (Exception e) {
      release();
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
    this.sampler =
        new ContinuousBatching(
            workerId + "-sampler",
            settings.maxBatchImages(),
            settings.continuousBatching(),
            this::serving,
            this::swapPending,
            rows -> {});
    if (feed != null) {
      feed.feed(generators);
      feed.feed(decoders);
      feed.start();
    }
    markReady();
  }

  /**
   * Opens a generator, warms it up and self-checks it; a version whose classes differ from the
   * first one's is refused (requests are validated against those classes).
   */
  private GeneratorRuntime openGenerator(Path dir, String what) {
    GeneratorRuntime g = GeneratorRuntime.open(dir);
    try {
      int n = g.config().numClasses();
      if (classes == 0) {
        classes = n;
      } else if (n != classes) {
        throw new IllegalStateException(
            "Generator "
                + what
                + " knows "
                + n
                + " classes, the one serving "
                + classes
                + ": requests are validated against those; refusing to serve it");
      }
      // First passes allocate and JIT-compile; do them before serving.
      finite(
          g.sample(new int[] {0}, new long[] {0}, settings.sampler(1, 2f)),
          "Generator " + what,
          "tokens");
      return g;
    } catch (RuntimeException e) {
      g.close();
      throw e;
    }
  }

  /** Opens a tokenizer's decoder, warms it up on zero tokens and self-checks it. */
  private TokenizerRuntime openDecoder(Path dir, String what) {
    TokenizerRuntime d =
        TokenizerRuntimes.open(
            dir,
            config.engine(),
            TokenizerRuntimes.Part.DECODER,
            new TokenizerRuntimes.Options(config.engineThreads()));
    try {
      finite(
          d.decode(new float[d.config().tokens() * d.config().codeDim()], 1),
          "Decoder " + what,
          "pixels");
      return d;
    } catch (RuntimeException e) {
      d.close();
      throw e;
    }
  }

  private static void finite(float[] values, String who, String what) {
    for (float v : values) {
      if (!Float.isFinite(v)) {
        throw new IllegalStateException(
            who + " produced non-finite " + what + " on warm-up: refusing to serve it");
      }
    }
  }

  /** "generator:version" serving now (written into records). */
  public String generatorModel() {
    return generatorModel;
  }

  /** The generator version serving now. */
  public int generatorVersion() {
    return version(generatorModel);
  }

  /** "tokenizer:version" of the decoder serving now (written into records). */
  public String decoderModel() {
    return decoderModel;
  }

  /** The decoder version serving now. */
  public int decoderVersion() {
    return version(decoderModel);
  }

  /**
   * Why a version announced and loaded is not serving (it does not fit the other half of the pair),
   * or "".
   */
  public String heldBack() {
    return heldBack;
  }

  private static int version(String model) {
    return Integer.parseInt(model.substring(model.lastIndexOf(':') + 1));
  }

  /**
   * Reads and validates the batch and hands its requests to the sampler at once (on the prepare
   * thread, so they join the steps of the requests in flight); the returned stage waits for their
   * images and turns them into records.
   */
  @Override
  protected TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
    List<Output> out = new ArrayList<>();
    List<Valid> valid = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      Valid v =
          readOrDeadLetter(
              r,
              "a GenerationRequest",
              out,
              rec -> {
                GenerationRequest req =
                    requests.deserialize(rec.topic(), rec.headers(), rec.value());
                return new Valid(rec, req, validate(req));
              });
      if (v != null) {
        valid.add(v);
      }
    }
    long t0 = System.nanoTime();
    List<CompletableFuture<ContinuousBatching.Result>> made = new ArrayList<>(valid.size());
    for (Valid v : valid) {
      GenerationRequest req = v.request();
      int[] labels = new int[req.getCount()];
      long[] seeds = new long[req.getCount()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = v.label();
        // A unit job's image i is its parent's image first_index + i, with that image's seed, so
        // the images do not depend on how the parent was split.
        seeds[i] = Sampler.imageSeed(req.getSeed(), req.getFirstIndex() + i);
      }
      made.add(
          sampler.submit(
              labels, seeds, settings.sampler(req.getSamplingSteps(), req.getGuidanceScale())));
    }
    return () -> finish(out, valid, made, t0);
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    return prepare(batch).finish();
  }

  @Override
  protected boolean joinsWorkInFlight() {
    return settings.continuousBatching();
  }

  private List<Output> finish(
      List<Output> out,
      List<Valid> valid,
      List<CompletableFuture<ContinuousBatching.Result>> made,
      long t0) {
    String topic = topics.generatedImages();
    for (int n = 0; n < valid.size(); n++) {
      Valid v = valid.get(n);
      ContinuousBatching.Result made1 = await(made.get(n));
      ConsumerRecord<byte[], byte[]> r = v.source();
      GenerationRequest req = v.request();
      // A unit job writes under its parent's id, keyed by it, so the generation app's fan-in
      // meets all of a request's images (and the request) in one partition.
      boolean job = req.getParentRequestId() != null;
      String id = job ? req.getParentRequestId().toString() : req.getRequestId().toString();
      byte[] key = job || r.key() == null ? id.getBytes(StandardCharsets.UTF_8) : r.key();
      for (int i = 0; i < req.getCount(); i++) {
        ImageGeneration.Image img = made1.images().get(i);
        GeneratedImage g =
            GeneratedImage.newBuilder()
                .setRequestId(id)
                .setIndex(req.getFirstIndex() + i)
                .setJobId(job ? req.getRequestId().toString() : null)
                .setLabel(v.label())
                .setPng(ByteBuffer.wrap(TokenDecoding.png(img.image())))
                .setGeneratorModel(made1.generatorModel())
                .setDecoderModel(made1.decoderModel())
                .setTokens(ByteBuffer.wrap(TokenPacking.pack(img.tokens(), TokenDtype.FP32)))
                .build();
        out.add(
            new Output(
                r,
                new ProducerRecord<>(topic, null, key, images.serialize(topic, g)),
                false,
                r.timestamp()));
      }
      served(made1.generatorModel(), req.getCount());
      served(made1.decoderModel(), req.getCount());
    }
    if (!valid.isEmpty()) {
      metrics.inference(Duration.ofNanos(System.nanoTime() - t0));
    }
    return out;
  }

  private void served(String model, int n) {
    int colon = model.lastIndexOf(':');
    metrics.recordsOutByVersion(model.substring(0, colon), version(model), n);
  }

  /** A request's images, or the exception that stopped them, as it was thrown. */
  private static ContinuousBatching.Result await(CompletableFuture<ContinuousBatching.Result> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new org.apache.kafka.common.errors.InterruptException(e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /**
   * On the sampling thread, with no request in flight: the pair to serve the next requests with.
   */
  private ContinuousBatching.Serving serving() {
    switchPair();
    seenGenerator = generators.peek();
    seenDecoder = decoders.peek();
    return new ContinuousBatching.Serving(
        generator.model().get(), generatorModel, decoder.model().get(), decoderModel);
  }

  /** A version newer than the one the pair was taken with waits (the sampler drains first). */
  private boolean swapPending() {
    return generators.peek() != seenGenerator || decoders.peek() != seenDecoder;
  }

  /**
   * Between batches: takes the versions each slot serves now, but only as a pair that fits (same
   * token shape), preferring both new, then a new generator, then a new decoder; a version that
   * fits neither is held back (its slot keeps it loaded) and the pair serving keeps serving.
   */
  private void switchPair() {
    ModelSlot.Lease<GeneratorRuntime> g = generators.begin();
    ModelSlot.Lease<TokenizerRuntime> d = decoders.begin();
    boolean newG = g.model() != generator.model();
    boolean newD = d.model() != decoder.model();
    if (!newG && !newD) {
      g.close();
      d.close();
      return;
    }
    ModelSlot.Lease<GeneratorRuntime> useG = generator;
    ModelSlot.Lease<TokenizerRuntime> useD = decoder;
    if (fits(g, d)) {
      useG = g;
      useD = d;
    } else if (newG && fits(g, decoder)) {
      useG = g;
    } else if (newD && fits(generator, d)) {
      useD = d;
    }
    String waiting = "";
    if (newG && useG != g) {
      waiting = mismatch(g, useD).orElse("");
    } else if (newD && useD != d) {
      waiting = mismatch(useG, d).orElse("");
    }
    if (!waiting.equals(heldBack) && !waiting.isEmpty()) {
      log.warn(
          "Not switching: {}. {} with {} keeps serving until a version that fits is announced",
          waiting,
          useG.model(),
          useD.model());
    }
    // A plain swap was logged by its slot; a pair that waited for its partner says when it finally
    // serves.
    if (!heldBack.isEmpty() && (useG != generator || useD != decoder)) {
      log.info(
          "Generation switched from {} + {} to {} + {}",
          generator.model(),
          decoder.model(),
          useG.model(),
          useD.model());
    }
    heldBack = waiting;
    (useG == g ? generator : g).close();
    (useD == d ? decoder : d).close();
    generator = useG;
    decoder = useD;
    generatorModel = useG.model().toString();
    decoderModel = useD.model().toString();
  }

  private static boolean fits(
      ModelSlot.Lease<GeneratorRuntime> g, ModelSlot.Lease<TokenizerRuntime> d) {
    return mismatch(g, d).isEmpty();
  }

  private static Optional<String> mismatch(
      ModelSlot.Lease<GeneratorRuntime> g, ModelSlot.Lease<TokenizerRuntime> d) {
    return ImageGeneration.mismatch(
        g.model().get().config(),
        g.model().toString(),
        d.model().get().config(),
        d.model().toString());
  }

  /**
   * The label of a request, after checking every field.
   *
   * @throws PoisonRecordException naming each problem and the accepted values
   */
  int validate(GenerationRequest req) {
    List<String> problems = new ArrayList<>();
    String errorClass = null;
    int label = -1;
    if (req.getLabel() != null) {
      label = req.getLabel();
      if (label < 0 || label >= prompts.size()) {
        problems.add(
            "label " + label + " is out of range; accepted labels are " + prompts.accepted());
        errorClass = "InvalidLabel";
      }
    } else if (req.getPrompt() != null) {
      var m = prompts.match(req.getPrompt().toString());
      if (m.isPresent()) {
        label = m.getAsInt();
      } else {
        problems.add(
            "prompt '"
                + req.getPrompt()
                + "' names no single known class; accepted classes are "
                + prompts.accepted()
                + " and common synonyms (e.g. 'sneakers', 'jeans', 'handbag', 'a pair of sandals')");
        errorClass = "UnknownPrompt";
      }
    } else {
      problems.add(
          "neither label nor prompt is set; give a label in 0.."
              + (prompts.size() - 1)
              + " or a prompt naming one of "
              + prompts.accepted());
      errorClass = "NoLabelOrPrompt";
    }
    if (req.getCount() < 1 || req.getCount() > settings.maxCount()) {
      problems.add(
          "count "
              + req.getCount()
              + " is outside the accepted range 1.."
              + settings.maxCount()
              + " (generation.max.count)");
      errorClass = errorClass == null ? "InvalidCount" : errorClass;
    }
    if (req.getFirstIndex() < 0) {
      problems.add("first_index " + req.getFirstIndex() + " is negative; it must be 0 or more");
      errorClass = errorClass == null ? "InvalidFirstIndex" : errorClass;
    }
    if (req.getSamplingSteps() < 1 || req.getSamplingSteps() > GenerationSettings.MAX_STEPS) {
      problems.add(
          "sampling_steps "
              + req.getSamplingSteps()
              + " is outside the accepted range 1.."
              + GenerationSettings.MAX_STEPS);
      errorClass = errorClass == null ? "InvalidSteps" : errorClass;
    }
    float gs = req.getGuidanceScale();
    if (!(gs >= 0 && gs <= GenerationSettings.MAX_GUIDANCE)) {
      problems.add(
          "guidance_scale "
              + gs
              + " is outside the accepted range [0, "
              + GenerationSettings.MAX_GUIDANCE
              + "] (1 = no guidance)");
      errorClass = errorClass == null ? "InvalidGuidance" : errorClass;
    }
    if (!problems.isEmpty()) {
      throw new PoisonRecordException(
          errorClass,
          "Generation request "
              + req.getRequestId()
              + " rejected: "
              + String.join("; ", problems)
              + ". Nothing was generated for it.");
    }
    return label;
  }

  @Override
  public void release() {
    if (sampler != null) {
      sampler.close(); // first: it is the one that uses the pair
    }
    if (feed != null) {
      feed.close();
    }
    if (generator != null) {
      generator.close();
      decoder.close();
    }
    generators.close();
    if (decoders != null) {
      decoders.close();
    }
    super.release();
  }
}
