package io.softstream.worker;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageRejectedException;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.ModelWatcher;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code ImageEvent}s, decodes and fits each image to the model, encodes micro-batches and
 * publishes one {@code TokenRecord} per image, keyed by the image key, exactly once. Bad records go to
 * the dead-letter topic with the reason. With {@code model.watch=true} it follows the model's ACTIVE
 * version and switches to a new one between two batches, after it is fetched, verified, loaded into a
 * second engine instance, warmed up and self-checked; inference never stops.
 */
public final class EncodeWorker extends AbstractWorker {
  private static final Logger log = LoggerFactory.getLogger(EncodeWorker.class);

  /** A loaded model and the name and version written into its records. */
  record Serving(TokenizerRuntime runtime, String name, int version, ImageTranslator preprocessor) {}

  private volatile Serving serving; // read by the prepare thread
  private final AtomicReference<Serving> pending = new AtomicReference<>();
  private final AvroDeserializer<ImageEvent> images;
  private final AvroSerializer<TokenRecord> tokens;
  private final TokenDtype dtype;
  private final ModelWatcher watcher;
  private final double canaryFraction;
  private Serving canary;
  private final AtomicReference<Optional<Serving>> pendingCanary = new AtomicReference<>();

  public EncodeWorker(WorkerConfig config) {
    super(config, "encode", layout(config).images());
    this.images = new AvroDeserializer<>(registry, ImageEvent.class);
    this.images.configure(config.serdeConfig(), false);
    this.tokens = new AvroSerializer<>(registry, config.serdeConfig(), false);
    this.dtype = config.getString(WorkerConfig.TOKEN_DTYPE).equals("fp16") ? TokenDtype.FP16 : TokenDtype.FP32;
    this.canaryFraction = config.getDouble(WorkerConfig.CANARY_FRACTION);
    String name = config.getString(WorkerConfig.MODEL_NAME);
    if (config.getBoolean(WorkerConfig.MODEL_WATCH)) {
      watcher = new ModelWatcher(config.clientConfig(), registry, topics, name, ModelKind.ENCODER, cacheDir(),
          metrics);
      Optional<ModelVersion> active = watcher.activeNow();
      if (active.isPresent()) {
        try {
          serving = load(watcher.materialize(active.get()), active.get().getName(), active.get().getVersion());
        } catch (Exception e) {
          if (config.getString(WorkerConfig.MODEL_DIR).isEmpty()) {
            throw new IllegalStateException("The active version " + name + ":" + active.get().getVersion()
                + " cannot be served (" + e.getMessage() + ") and no model.dir is given to fall back on", e);
          }
          log.error("Active version {}:{} cannot be served ({}); starting on {}", name, active.get().getVersion(),
              e.getMessage(), config.getString(WorkerConfig.MODEL_DIR));
        }
      }
    } else {
      watcher = null;
    }
    if (serving == null) {
      if (config.getString(WorkerConfig.MODEL_DIR).isEmpty()) {
        throw new IllegalStateException("No active version of " + name + " is announced on " + topics.modelVersions()
            + " and no model.dir is given: publish one (softstream models publish) or pass --model");
      }
      Path dir = Path.of(config.getString(WorkerConfig.MODEL_DIR));
      serving = load(dir, name, config.getInt(WorkerConfig.MODEL_VERSION));
    }
    metrics.activeModel(serving.name(), serving.version());
    if (watcher != null) {
      watcher.start(serving.version(), (dir, v) -> load(dir, v.getName(), v.getVersion()), (v, loaded) -> {
        Serving superseded = pending.getAndSet(loaded);
        if (superseded != null) {
          superseded.runtime().close(); // announced and replaced before it ever served
        }
      }, canaryFraction > 0 ? (v, loaded) -> {
        Optional<Serving> superseded = pendingCanary.getAndSet(Optional.ofNullable(loaded));
        if (superseded != null) {
          superseded.ifPresent(x -> x.runtime().close());
        }
      } : null);
    }
    markReady();
  }

  private Path cacheDir() {
    try {
      return Files.createDirectories(Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR)));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Opens, warms up and self-checks a model; the caller decides when it starts serving. */
  private Serving load(Path dir, String name, int version) {
    TokenizerRuntime runtime = TokenizerRuntimes.open(dir, config.engine(), TokenizerRuntimes.Part.ENCODER,
        new TokenizerRuntimes.Options(config.engineThreads()));
    try {
      TokenizerConfig model = runtime.config();
      ImageTranslator pre = config.imageTranslator(model);
      selfCheck(runtime, pre, name.isEmpty() ? runtime.card().name() : name, version);
      return new Serving(runtime, name.isEmpty() ? runtime.card().name() : name, version, pre);
    } catch (RuntimeException e) {
      runtime.close();
      throw e;
    }
  }

  // Warm-up and self-check in one: a known input (black and a ramp) must give finite, bounded tokens.
  private void selfCheck(TokenizerRuntime runtime, ImageTranslator pre, String name, int version) {
    int b = 2;
    int per = pre.floatsPerImage();
    float[] px = new float[b * per];
    Arrays.fill(px, 0, per, -1f);
    for (int i = 0; i < per; i++) {
      px[per + i] = (i % 64) / 32f - 1f;
    }
    TokenizerRuntime.Encoded e = runtime.encode(px, b);
    for (float v : e.values()) {
      if (!Float.isFinite(v) || Math.abs(v) > 1e3f) {
        throw new IllegalStateException("Model " + name + ":" + version + " failed its self-check (token value " + v
            + " on a known input): refusing to serve it");
      }
    }
  }

  /** Switches to a newly loaded version between batches, on the inference thread. */
  private Serving current() {
    Optional<Serving> nextCanary = pendingCanary.getAndSet(null);
    if (nextCanary != null) {
      Serving old = canary;
      canary = nextCanary.orElse(null);
      log.info("Worker {} canary: {} of images by key hash now go to {}", workerId, canaryFraction,
          canary == null ? "nobody (no candidate)" : canary.name() + ":" + canary.version());
      if (old != null) {
        old.runtime().close();
      }
    }
    Serving next = pending.getAndSet(null);
    if (next != null) {
      Serving old = serving;
      serving = next;
      metrics.activeModel(next.name(), next.version());
      log.info("Worker {} now serves {}:{} (was {}:{})", workerId, next.name(), next.version(), old.name(), old.version());
      old.runtime().close();
      if (canary != null && canary.version() <= next.version()) {
        canary.runtime().close(); // promoted (or overtaken): it serves everything now
        canary = null;
      }
    }
    return serving;
  }

  /** The canary version in use, or 0. */
  public int canaryVersion() {
    Serving c = canary;
    return c == null ? 0 : c.version();
  }

  private boolean toCanary(byte[] key) {
    if (canary == null || key == null) {
      return false;
    }
    return (org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(key)) % 10_000)
        < canaryFraction * 10_000;
  }

  @Override
  protected void idle() {
    current(); // a new version waits for no image
  }

  /** The version serving now. */
  public int servingVersion() {
    return serving.version();
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    return prepare(batch).finish();
  }

  /**
   * Decodes on the prepare thread with the preprocessor of the version about to serve; encodes on the
   * compute thread, decoding again in the rare case that a model switch in between changed the version.
   */
  @Override
  protected TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
    Serving next = pending.get();
    Decoded first = decode(batch, (next != null ? next : serving).preprocessor());
    return () -> {
      Serving s = current();
      Decoded d = first.preprocessor() == s.preprocessor() ? first : decode(batch, s.preprocessor());
      List<Output> out = d.out();
      if (d.good().isEmpty()) {
        return out;
      }
      List<Integer> main = new ArrayList<>();
      List<Integer> canaried = new ArrayList<>();
      for (int i = 0; i < d.good().size(); i++) {
        (toCanary(d.good().get(i).key()) ? canaried : main).add(i);
      }
      int per = s.preprocessor().floatsPerImage();
      encodeGroup(s, main, d.good(), d.events(), d.pixels(), per, out);
      if (!canaried.isEmpty()) {
        encodeGroup(canary, canaried, d.good(), d.events(), d.pixels(), per, out);
      }
      return out;
    };
  }

  /** A batch decoded to pixels: the readable records, their events and pixels, and dead letters for the rest. */
  private record Decoded(ImageTranslator preprocessor, List<ConsumerRecord<byte[], byte[]>> good,
      List<ImageEvent> events, float[] pixels, List<Output> out) {}

  private Decoded decode(List<ConsumerRecord<byte[], byte[]>> batch, ImageTranslator preprocessor) {
    List<Output> out = new ArrayList<>(batch.size());
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>(batch.size());
    List<ImageEvent> events = new ArrayList<>(batch.size());
    int per = preprocessor.floatsPerImage();
    float[] pixels = new float[batch.size() * per];
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      ImageEvent e = readOrDeadLetter(r, "an ImageEvent", out, rec -> {
        ImageEvent event = images.deserialize(rec.topic(), rec.headers(), rec.value());
        try {
          preprocessor.decodeInto(bytes(event.getImageBytes()), event.getContentType(), pixels, good.size() * per);
        } catch (ImageRejectedException x) {
          throw PoisonRecordException.of(x);
        }
        return event;
      });
      if (e != null) {
        good.add(r);
        events.add(e);
      }
    }
    return new Decoded(preprocessor, good, events, pixels, out);
  }

  private void encodeGroup(Serving s, List<Integer> idx, List<ConsumerRecord<byte[], byte[]>> good, List<ImageEvent> events,
      float[] pixels, int per, List<Output> out) {
    if (idx.isEmpty()) {
      return;
    }
    float[] px = new float[idx.size() * per];
    for (int j = 0; j < idx.size(); j++) {
      System.arraycopy(pixels, idx.get(j) * per, px, j * per, per);
    }
    long t0 = System.nanoTime();
    TokenizerRuntime.Encoded enc = s.runtime().encode(px, idx.size());
    long micros = (System.nanoTime() - t0) / 1000;
    metrics.inference(Duration.ofNanos(micros * 1000));
    metrics.recordsOutByVersion(s.name(), s.version(), idx.size());
    for (int j = 0; j < idx.size(); j++) {
      ConsumerRecord<byte[], byte[]> r = good.get(idx.get(j));
      ImageEvent e = events.get(idx.get(j));
      TokenRecord t = TokenRecord.newBuilder()
          .setImageId(e.getId())
          .setModelName(s.name())
          .setModelVersion(s.version())
          .setTokenCount(enc.tokens())
          .setTokenDim(enc.dim())
          .setDtype(dtype)
          .setTokens(ByteBuffer.wrap(TokenPacking.pack(enc.image(j), dtype)))
          .setCodeIndices(Arrays.stream(enc.codes(j)).boxed().toList())
          .setEncodeLatencyMicros(micros)
          .setSourceTopic(r.topic())
          .setSourcePartition(r.partition())
          .setSourceOffset(r.offset())
          .setEventTime(e.getEventTime())
          .build();
      String topic = topics.tokens();
      out.add(new Output(r, new ProducerRecord<>(topic, null, r.key(), tokens.serialize(topic, t)), false,
          e.getEventTime().toEpochMilli()));
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  @Override
  public void release() {
    if (watcher != null) {
      watcher.close();
    }
    Serving p = pending.getAndSet(null);
    if (p != null) {
      p.runtime().close();
    }
    Optional<Serving> pc = pendingCanary.getAndSet(null);
    if (pc != null) {
      pc.ifPresent(x -> x.runtime().close());
    }
    if (canary != null) {
      canary.runtime().close();
    }
    serving.runtime().close();
    super.release();
  }
}
