package io.softstream.worker;

import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.worker.generation.GenerationSettings;
import io.softstream.worker.generation.ImageGeneration;
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
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Consumes {@code GenerationRequest}s, samples the images of a whole batch of requests together (one
 * pass per distinct steps/guidance pair), decodes them with the tokenizer the generator was trained on
 * and publishes one {@code GeneratedImage} per image, keyed by request id, exactly once. A request with
 * a label out of range, an unknown prompt, a count above {@code generation.max.count}, steps outside
 * [1, 1000] or guidance outside [0, 20] becomes a dead letter whose reason names the accepted values.
 *
 * <p>Settings: the usual worker keys ({@code model.dir} is the tokenizer whose decoder is used) plus
 * the keys of {@link GenerationSettings}.
 */
public final class GenerateWorker extends AbstractWorker {
  private final GenerationSettings settings;
  private final ImageGeneration generation;
  private final Prompts prompts;
  private final AvroDeserializer<GenerationRequest> requests;
  private final AvroSerializer<GeneratedImage> images;
  private final String generatorModel;
  private final String decoderModel;

  /** A request that passed validation, with its resolved label. */
  private record Valid(ConsumerRecord<byte[], byte[]> source, GenerationRequest request, int label) {}

  public GenerateWorker(WorkerConfig config) {
    super(config, "generate", layout(config).generationRequests());
    this.settings = GenerationSettings.from(config.originals());
    this.generation = ImageGeneration.open(settings.generatorDir(), Path.of(config.getString(WorkerConfig.MODEL_DIR)),
        config.engine(), config.engineThreads());
    try {
      int classes = generation.numClasses();
      this.prompts = classes == 10 ? Prompts.fashionMnist() : Prompts.numbered(classes);
      String gName = settings.generatorName().isEmpty() ? generation.generator().card().name() : settings.generatorName();
      this.generatorModel = gName + ":" + settings.generatorVersion();
      String dName = config.getString(WorkerConfig.MODEL_NAME).isEmpty() ? generation.decoder().card().name()
          : config.getString(WorkerConfig.MODEL_NAME);
      this.decoderModel = dName + ":" + config.getInt(WorkerConfig.MODEL_VERSION);
      this.requests = new AvroDeserializer<>(registry, GenerationRequest.class);
      this.requests.configure(config.serdeConfig(), false);
      this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
      warmUp();
    } catch (RuntimeException e) {
      generation.close();
      throw e;
    }
    metrics.activeModel(gName(), settings.generatorVersion());
    markReady();
  }

  private String gName() {
    return generatorModel.substring(0, generatorModel.lastIndexOf(':'));
  }

  /** "generator:version" written into records. */
  public String generatorModel() {
    return generatorModel;
  }

  /** "tokenizer:version" written into records. */
  public String decoderModel() {
    return decoderModel;
  }

  // First passes allocate and JIT-compile; do them before reporting ready.
  private void warmUp() {
    var out = generation.generate(new int[] {0}, new long[] {0}, settings.sampler(1, 2f), 1);
    for (float v : out.get(0).tokens()) {
      if (!Float.isFinite(v)) {
        throw new IllegalStateException("Generator " + generatorModel + " produced non-finite tokens on warm-up: "
            + "refusing to serve it");
      }
    }
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
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
    generation.close();
    super.release();
  }
}
