package io.softstream.worker;

import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.worker.generation.GenerationSettings;
import io.softstream.worker.generation.ImageGeneration;
import io.softstream.worker.internals.ModelFeed;
import io.softstream.worker.internals.ModelSlot;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code GenerationRequest}s, samples the images of a whole batch of requests together (one
 * pass per distinct steps/guidance pair), decodes them with the tokenizer the generator was trained on
 * and publishes one {@code GeneratedImage} per image, keyed by request id, exactly once. A request with
 * a label out of range, an unknown prompt, a count above {@code generation.max.count}, steps outside
 * [1, 1000] or guidance outside [0, 20] becomes a dead letter whose reason names the accepted values.
 *
 * <p>With {@code generator.watch=true} it follows the ACTIVE generator version of {@code generator.name}:
 * a newly announced one is fetched, checksummed, loaded with the tokenizer's decoder, warmed up and
 * self-checked off the serving thread, and serves from the next batch on; each image names the
 * generator version that made it.
 *
 * <p>Settings: the usual worker keys ({@code model.dir} is the tokenizer whose decoder is used) plus
 * the keys of {@link GenerationSettings}.
 */
public final class GenerateWorker extends AbstractWorker {
  private static final Logger log = LoggerFactory.getLogger(GenerateWorker.class);
  private final GenerationSettings settings;
  private final Prompts prompts;
  private final AvroDeserializer<GenerationRequest> requests;
  private final AvroSerializer<GeneratedImage> images;
  private final String decoderModel;
  private final Path tokenizerDir;
  private final ModelFeed feed;
  private final ModelSlot<ImageGeneration> slot;
  private int classes;

  /** A request that passed validation, with its resolved label. */
  private record Valid(ConsumerRecord<byte[], byte[]> source, GenerationRequest request, int label) {}

  public GenerateWorker(WorkerConfig config) {
    super(config, "generate", layout(config).generationRequests());
    this.settings = GenerationSettings.from(config.originals());
    this.tokenizerDir = Path.of(config.getString(WorkerConfig.MODEL_DIR));
    this.feed = settings.watch() ? new ModelFeed(config.clientConfig(), registry, topics,
        Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR))) : null;
    this.slot = new ModelSlot<>(new ModelSlot.Settings(settings.generatorName(), ModelKind.GENERATOR, 0, 0),
        feed != null ? feed.artifacts() : null, feed != null ? feed.cacheDir() : null,
        (dir, v) -> open(dir, v.getName() + ":" + v.getVersion()), metrics);
    try {
      if (feed != null) {
        Optional<ModelVersion> active = slot.activeIn(feed.readNow());
        if (active.isPresent()) {
          try {
            slot.startOn(active.get());
          } catch (Exception e) {
            if (settings.generatorDir() == null) {
              throw e;
            }
            log.error("Active generator {}:{} cannot be served ({}); starting on {}", settings.generatorName(),
                active.get().getVersion(), e.getMessage(), settings.generatorDir());
          }
        }
      }
      if (slot.activeVersion() == 0) {
        if (settings.generatorDir() == null) {
          throw new IllegalStateException("No active generator version of " + settings.generatorName() + " is announced on "
              + topics.modelVersions() + " and no generator.dir is given: publish one or pass generator.dir");
        }
        ImageGeneration g = open(settings.generatorDir(), "generator " + settings.generatorDir());
        String gName = settings.generatorName().isEmpty() ? g.generator().card().name() : settings.generatorName();
        slot.startOn(gName, settings.generatorVersion(), g);
      }
      ImageGeneration first = slot.peek().get();
      this.prompts = classes == 10 ? Prompts.fashionMnist() : Prompts.numbered(classes);
      String dName = config.getString(WorkerConfig.MODEL_NAME).isEmpty() ? first.decoder().card().name()
          : config.getString(WorkerConfig.MODEL_NAME);
      this.decoderModel = dName + ":" + config.getInt(WorkerConfig.MODEL_VERSION);
      this.requests = new AvroDeserializer<>(registry, GenerationRequest.class);
      this.requests.configure(config.serdeConfig(), false);
      this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
    } catch (Exception e) {
      release();
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
    if (feed != null) {
      feed.feed(slot);
      feed.start();
    }
    markReady();
  }

  /**
   * Opens a generator with the tokenizer's decoder, warms it up and self-checks it; a version whose classes
   * differ from the first one's is refused (requests are validated against those classes).
   */
  private ImageGeneration open(Path generatorDir, String what) {
    ImageGeneration g = ImageGeneration.open(generatorDir, tokenizerDir, config.engine(), config.engineThreads());
    try {
      if (classes == 0) {
        classes = g.numClasses();
      } else if (g.numClasses() != classes) {
        throw new IllegalStateException("Generator " + what + " knows " + g.numClasses() + " classes, the one serving "
            + classes + ": requests are validated against those; refusing to serve it");
      }
      // First passes allocate and JIT-compile; do them before serving.
      var out = g.generate(new int[] {0}, new long[] {0}, settings.sampler(1, 2f), 1);
      for (float v : out.get(0).tokens()) {
        if (!Float.isFinite(v)) {
          throw new IllegalStateException("Generator " + what + " produced non-finite tokens on warm-up: refusing to serve it");
        }
      }
      return g;
    } catch (RuntimeException e) {
      g.close();
      throw e;
    }
  }

  /** "generator:version" serving now (written into records). */
  public String generatorModel() {
    return slot.peek().toString();
  }

  /** The generator version serving now. */
  public int generatorVersion() {
    return slot.activeVersion();
  }

  /** "tokenizer:version" written into records. */
  public String decoderModel() {
    return decoderModel;
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    try (ModelSlot.Lease<ImageGeneration> lease = slot.begin()) {
      return process(batch, lease);
    }
  }

  private List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch, ModelSlot.Lease<ImageGeneration> lease) {
    ImageGeneration generation = lease.model().get();
    String generatorModel = lease.model().toString();
    List<Output> out = new ArrayList<>();
    List<Valid> valid = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      Valid v = readOrDeadLetter(r, "a GenerationRequest", out, rec -> {
        GenerationRequest req = requests.deserialize(rec.topic(), rec.headers(), rec.value());
        return new Valid(rec, req, validate(req));
      });
      if (v != null) {
        valid.add(v);
      }
    }
    if (valid.isEmpty()) {
      return out;
    }
    // Requests with the same steps and guidance share one time grid, so they are sampled together.
    Map<String, List<Valid>> groups = new LinkedHashMap<>();
    for (Valid v : valid) {
      groups.computeIfAbsent(v.request().getSamplingSteps() + "/" + v.request().getGuidanceScale(), k -> new ArrayList<>())
          .add(v);
    }
    Map<Valid, List<Output>> produced = new java.util.IdentityHashMap<>();
    String topic = topics.generatedImages();
    for (List<Valid> group : groups.values()) {
      int n = group.stream().mapToInt(v -> v.request().getCount()).sum();
      int[] labels = new int[n];
      long[] seeds = new long[n];
      int k = 0;
      for (Valid v : group) {
        for (int i = 0; i < v.request().getCount(); i++, k++) {
          labels[k] = v.label();
          seeds[k] = Sampler.imageSeed(v.request().getSeed(), i);
        }
      }
      GenerationRequest first = group.get(0).request();
      long t0 = System.nanoTime();
      List<ImageGeneration.Image> imgs = generation.generate(labels, seeds,
          settings.sampler(first.getSamplingSteps(), first.getGuidanceScale()), settings.maxBatchImages());
      metrics.inference(Duration.ofNanos(System.nanoTime() - t0));
      lease.served(lease.model(), n);
      k = 0;
      for (Valid v : group) {
        List<Output> outs = new ArrayList<>();
        ConsumerRecord<byte[], byte[]> r = v.source();
        String id = v.request().getRequestId().toString();
        byte[] key = r.key() != null ? r.key() : id.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < v.request().getCount(); i++, k++) {
          ImageGeneration.Image img = imgs.get(k);
          GeneratedImage g = GeneratedImage.newBuilder()
              .setRequestId(id)
              .setIndex(i)
              .setLabel(v.label())
              .setPng(ByteBuffer.wrap(TokenDecoding.png(img.image())))
              .setGeneratorModel(generatorModel)
              .setDecoderModel(decoderModel)
              .setTokens(ByteBuffer.wrap(TokenPacking.pack(img.tokens(), TokenDtype.FP32)))
              .build();
          outs.add(new Output(r, new ProducerRecord<>(topic, null, key, images.serialize(topic, g)), false, r.timestamp()));
        }
        produced.put(v, outs);
      }
    }
    for (Valid v : valid) {
      out.addAll(produced.get(v));
    }
    return out;
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
        problems.add("label " + label + " is out of range; accepted labels are " + prompts.accepted());
        errorClass = "InvalidLabel";
      }
    } else if (req.getPrompt() != null) {
      var m = prompts.match(req.getPrompt().toString());
      if (m.isPresent()) {
        label = m.getAsInt();
      } else {
        problems.add("prompt '" + req.getPrompt() + "' names no single known class; accepted classes are "
            + prompts.accepted() + " and common synonyms (e.g. 'sneakers', 'jeans', 'handbag', 'a pair of sandals')");
        errorClass = "UnknownPrompt";
      }
    } else {
      problems.add("neither label nor prompt is set; give a label in 0.." + (prompts.size() - 1) + " or a prompt naming one of "
          + prompts.accepted());
      errorClass = "NoLabelOrPrompt";
    }
    if (req.getCount() < 1 || req.getCount() > settings.maxCount()) {
      problems.add("count " + req.getCount() + " is outside the accepted range 1.." + settings.maxCount()
          + " (generation.max.count)");
      errorClass = errorClass == null ? "InvalidCount" : errorClass;
    }
    if (req.getSamplingSteps() < 1 || req.getSamplingSteps() > GenerationSettings.MAX_STEPS) {
      problems.add("sampling_steps " + req.getSamplingSteps() + " is outside the accepted range 1.."
          + GenerationSettings.MAX_STEPS);
      errorClass = errorClass == null ? "InvalidSteps" : errorClass;
    }
    float gs = req.getGuidanceScale();
    if (!(gs >= 0 && gs <= GenerationSettings.MAX_GUIDANCE)) {
      problems.add("guidance_scale " + gs + " is outside the accepted range [0, " + GenerationSettings.MAX_GUIDANCE
          + "] (1 = no guidance)");
      errorClass = errorClass == null ? "InvalidGuidance" : errorClass;
    }
    if (!problems.isEmpty()) {
      throw new PoisonRecordException(errorClass, "Generation request " + req.getRequestId() + " rejected: "
          + String.join("; ", problems) + ". Nothing was generated for it.");
    }
    return label;
  }

  @Override
  public void release() {
    if (feed != null) {
      feed.close();
    }
    slot.close();
    super.release();
  }
}
