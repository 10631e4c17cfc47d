package io.softstream.worker;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageRejectedException;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.onnx.OnnxCodebook;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ContentHash;
import io.softstream.schemas.images.DeclaredSize;
import io.softstream.schemas.images.ImageHeader;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.worker.internals.ModelFeed;
import io.softstream.worker.internals.ModelSlot;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code ImageEvent}s, decodes and fits each image to the model, encodes micro-batches and
 * publishes one {@code TokenRecord} per image, keyed by the image key, exactly once. Bad records go
 * to the dead-letter topic with the reason. With {@code model.watch=true} it follows the model's
 * ACTIVE version and switches to a new one between two batches, after it is fetched, verified,
 * loaded into a second engine instance, warmed up and self-checked; inference never stops.
 */
public final class EncodeWorker extends AbstractWorker {
  private static final Logger log = LoggerFactory.getLogger(EncodeWorker.class);

  /** A loaded model and the name and version written into its records. */
  record Serving(
      TokenizerRuntime runtime,
      String name,
      int version,
      ImageTranslator preprocessor,
      Codebook codebook)
      implements AutoCloseable {
    @Override
    public void close() {
      runtime.close();
    }
  }

  private final AvroDeserializer<ImageEvent> images;
  private final AvroSerializer<TokenRecord> tokens;
  private final TokenCodec.Encoding encoding;
  private final ModelFeed feed;
  private final ModelSlot<Serving> slot;
  private final int decodeThreads;
  // The decode threads besides the prepare thread; null = the prepare thread only.
  private final ExecutorService decoders;

  public EncodeWorker(WorkerConfig config) {
    super(config, "encode", layout(config).images());
    this.images = new AvroDeserializer<>(registry, ImageEvent.class);
    this.images.configure(config.serdeConfig(), false);
    this.tokens = new AvroSerializer<>(registry, config.serdeConfig(), false);
    this.encoding = config.tokenEncoding();
    this.decodeThreads = config.decodeThreads();
    this.decoders =
        decodeThreads > 1
            ? Executors.newFixedThreadPool(
                decodeThreads - 1,
                new ThreadFactory() {
                  private final AtomicInteger next = new AtomicInteger(1);

                  @Override
                  public Thread newThread(Runnable r) {
                    Thread t = new Thread(r, workerId + "-decode-" + next.getAndIncrement());
                    t.setDaemon(true);
                    return t;
                  }
                })
            : null;
    String name = config.getString(WorkerConfig.MODEL_NAME);
    boolean watch = config.getBoolean(WorkerConfig.MODEL_WATCH);
    this.feed =
        watch
            ? new ModelFeed(
                config.clientConfig(),
                registry,
                topics,
                Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR)))
            : null;
    this.slot =
        new ModelSlot<>(
            new ModelSlot.Settings(
                name, ModelKind.ENCODER, config.getDouble(WorkerConfig.CANARY_FRACTION), 0),
            watch ? feed.artifacts() : null,
            watch ? feed.cacheDir() : null,
            (dir, v) -> load(dir, v.getName(), v.getVersion()),
            metrics);
    if (watch) {
      Optional<ModelVersion> active = slot.activeIn(feed.readNow());
      if (active.isPresent()) {
        try {
          slot.startOn(active.get());
        } catch (Exception e) {
          if (config.getString(WorkerConfig.MODEL_DIR).isEmpty()) {
            throw new IllegalStateException(
                "The active version "
                    + name
                    + ":"
                    + active.get().getVersion()
                    + " cannot be served ("
                    + e.getMessage()
                    + ") and no model.dir is given to fall back on",
                e);
          }
          log.error(
              "Active version {}:{} cannot be served ({}); starting on {}",
              name,
              active.get().getVersion(),
              e.getMessage(),
              config.getString(WorkerConfig.MODEL_DIR));
        }
      }
    }
    if (slot.activeVersion() == 0) {
      if (config.getString(WorkerConfig.MODEL_DIR).isEmpty()) {
        throw new IllegalStateException(
            "No active version of "
                + name
                + " is announced on "
                + topics.modelVersions()
                + " and no model.dir is given: publish one (softstream models publish) or pass --model");
      }
      Path dir = Path.of(config.getString(WorkerConfig.MODEL_DIR));
      Serving s = load(dir, name, config.getInt(WorkerConfig.MODEL_VERSION));
      slot.startOn(s.name(), s.version(), s);
    }
    if (feed != null) {
      feed.feed(slot);
      feed.start();
    }
    markReady();
  }

  /** Opens, warms up and self-checks a model; the caller decides when it starts serving. */
  private Serving load(Path dir, String name, int version) {
    TokenizerRuntime runtime =
        TokenizerRuntimes.open(
            dir,
            config.engine(),
            TokenizerRuntimes.Part.ENCODER,
            new TokenizerRuntimes.Options(config.engineThreads()));
    try {
      TokenizerConfig model = runtime.config();
      ImageTranslator pre = config.imageTranslator(model, runtime.card());
      selfCheck(runtime, pre, name.isEmpty() ? runtime.card().name() : name, version);
      TokenCodec.requireBounded(encoding, model.quantizer(), runtime.card().name());
      // topk and codes index the model's codebook; read once per model version.
      Codebook cb = encoding.needsCodebook() ? OnnxCodebook.normalised(dir, model) : null;
      return new Serving(runtime, name.isEmpty() ? runtime.card().name() : name, version, pre, cb);
    } catch (RuntimeException e) {
      runtime.close();
      throw e;
    }
  }

  // Warm-up and self-check in one: a known input (black and a ramp) must give finite, bounded
  // tokens.
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
        throw new IllegalStateException(
            "Model "
                + name
                + ":"
                + version
                + " failed its self-check (token value "
                + v
                + " on a known input): refusing to serve it");
      }
    }
  }

  /** The canary version in use, or 0. */
  public int canaryVersion() {
    return slot.canaryVersion();
  }

  @Override
  protected void idle() {
    slot.begin().close(); // a new version waits for no image
  }

  /** The version serving now. */
  public int servingVersion() {
    return slot.activeVersion();
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    return prepare(batch).finish();
  }

  /**
   * Decodes on the prepare thread with the preprocessor of the version about to serve; encodes on
   * the compute thread, decoding again in the rare case that a model switch in between changed the
   * version.
   */
  @Override
  protected TransactionalLoop.Prepared prepare(List<ConsumerRecord<byte[], byte[]>> batch) {
    Decoded first = decode(batch, slot.peek().get().preprocessor());
    return () -> {
      try (ModelSlot.Lease<Serving> lease = slot.begin()) {
        Serving s = lease.model().get();
        Decoded d =
            first.preprocessor() == s.preprocessor() ? first : decode(batch, s.preprocessor());
        List<Output> out = d.out();
        if (d.good().isEmpty()) {
          return out;
        }
        List<Integer> main = new ArrayList<>();
        List<Integer> canaried = new ArrayList<>();
        for (int i = 0; i < d.good().size(); i++) {
          (lease.pick(d.good().get(i).key()) == lease.model() ? main : canaried).add(i);
        }
        int per = s.preprocessor().floatsPerImage();
        encodeGroup(lease, lease.model(), main, d.good(), d.events(), d.pixels(), per, out);
        if (!canaried.isEmpty()) {
          encodeGroup(lease, lease.canary(), canaried, d.good(), d.events(), d.pixels(), per, out);
        }
        return out;
      }
    };
  }

  /**
   * A batch decoded to pixels: the readable records, their events and pixels, and dead letters for
   * the rest.
   */
  private record Decoded(
      ImageTranslator preprocessor,
      List<ConsumerRecord<byte[], byte[]>> good,
      List<ImageEvent> events,
      float[] pixels,
      List<Output> out) {}

  /**
   * Reads the batch's events here (one deserializer), then decodes and fits their images on {@code
   * decode.threads} threads, this one included: at the pipeline ceiling image decoding is what one
   * thread cannot keep up with. Dead letters and images keep the records' order.
   */
  private Decoded decode(List<ConsumerRecord<byte[], byte[]>> batch, ImageTranslator preprocessor) {
    int n = batch.size();
    int per = preprocessor.floatsPerImage();
    ImageEvent[] read = new ImageEvent[n];
    Object[] failed = new Object[n]; // a dead letter, a PoisonRecordException or another Throwable
    List<Output> unreadable = new ArrayList<>(1);
    for (int i = 0; i < n; i++) {
      read[i] =
          readOrDeadLetter(
              batch.get(i),
              "an ImageEvent",
              unreadable,
              rec -> images.deserialize(rec.topic(), rec.headers(), rec.value()));
      if (read[i] == null) {
        failed[i] = unreadable.remove(0);
      }
    }
    float[] pixels = new float[n * per];
    int tasks = decoders == null ? 1 : decodeTasks(read);
    List<Future<?>> others = new ArrayList<>(tasks - 1);
    for (int t = 1; t < tasks; t++) {
      int first = t;
      others.add(
          decoders.submit(() -> decodeEvery(first, tasks, read, preprocessor, pixels, failed)));
    }
    decodeEvery(0, tasks, read, preprocessor, pixels, failed);
    for (Future<?> f : others) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while images were decoding", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("image decoding failed", e.getCause());
      }
    }
    List<Output> out = new ArrayList<>(n);
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>(n);
    List<ImageEvent> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Object f = failed[i];
      if (f instanceof Output dead) {
        out.add(dead);
      } else if (f instanceof PoisonRecordException p) {
        out.add(deadLetter(batch.get(i), p));
      } else if (f instanceof RuntimeException e) {
        throw e; // as if decoded on this thread: no fault of the record
      } else if (f instanceof Error e) {
        throw e;
      } else {
        if (good.size() != i) { // records before it became dead letters: close the gap
          System.arraycopy(pixels, i * per, pixels, good.size() * per, per);
        }
        good.add(batch.get(i));
        events.add(read[i]);
      }
    }
    return new Decoded(preprocessor, good, events, pixels, out);
  }

  /**
   * Pixels a decode task should have at least. Photos split well: 8 wallpaper JPEGs (1920x1080)
   * decoded and scaled to 64 px in 500-580 ms on two threads against 710-1,060 ms on one. Small
   * images do not: handing work to another thread cost more than it saved in {@code bench encode
   * --engine none} (3,000 images, 2 cores: 64 px JPEGs 0.78-0.85x as fast on two threads), so a
   * batch of them (32 x 64x64 = 131,072 pixels) stays on one thread.
   */
  static final long PIXELS_PER_DECODE_TASK = 250_000;

  /** How many threads decode these events: by their pixels (from the headers), at most all. */
  private int decodeTasks(ImageEvent[] read) {
    long pixels = 0;
    int images = 0;
    for (ImageEvent e : read) {
      if (e != null) {
        images++;
        pixels +=
            ImageHeader.sniff(bytes(e.getImageBytes()))
                .map(h -> (long) h.width() * h.height())
                .orElse(0L);
      }
    }
    return (int)
        Math.max(1, Math.min(Math.min(decodeThreads, images), pixels / PIXELS_PER_DECODE_TASK));
  }

  /** Decodes and fits the images at {@code first}, {@code first + step}, ... into their slots. */
  private static void decodeEvery(
      int first,
      int step,
      ImageEvent[] read,
      ImageTranslator preprocessor,
      float[] pixels,
      Object[] failed) {
    int per = preprocessor.floatsPerImage();
    for (int i = first; i < read.length; i += step) {
      ImageEvent event = read[i];
      if (event == null) {
        continue;
      }
      try {
        ImageTranslator.Picture p =
            preprocessor.decode(bytes(event.getImageBytes()), event.getContentType());
        checkDeclaredSize(event, p);
        preprocessor.fitInto(p, pixels, i * per);
      } catch (ImageRejectedException x) {
        failed[i] = PoisonRecordException.of(x);
      } catch (PoisonRecordException x) {
        failed[i] = x;
      } catch (RuntimeException | Error x) {
        failed[i] = x;
      }
    }
  }

  /** A declared width or height that is not the decoded image's makes the record a dead letter. */
  static void checkDeclaredSize(ImageEvent e, ImageTranslator.Picture p) {
    DeclaredSize.mismatch(e.getId(), e.getWidth(), e.getHeight(), p.width(), p.height())
        .ifPresent(
            reason -> {
              throw new PoisonRecordException(DeclaredSize.ERROR_CLASS, reason);
            });
  }

  private void encodeGroup(
      ModelSlot.Lease<Serving> lease,
      ModelSlot.Model<Serving> m,
      List<Integer> idx,
      List<ConsumerRecord<byte[], byte[]>> good,
      List<ImageEvent> events,
      float[] pixels,
      int per,
      List<Output> out) {
    if (idx.isEmpty()) {
      return;
    }
    Serving s = m.get();
    float[] px = pixels;
    if (idx.size() * per != pixels.length) { // a canary split, or dead letters: gather this group
      px = new float[idx.size() * per];
      for (int j = 0; j < idx.size(); j++) {
        System.arraycopy(pixels, idx.get(j) * per, px, j * per, per);
      }
    }
    long t0 = System.nanoTime();
    TokenizerRuntime.Encoded enc = s.runtime().encode(px, idx.size());
    long micros = (System.nanoTime() - t0) / 1000;
    metrics.inference(Duration.ofNanos(micros * 1000));
    lease.served(m, idx.size());
    for (int j = 0; j < idx.size(); j++) {
      ConsumerRecord<byte[], byte[]> r = good.get(idx.get(j));
      ImageEvent e = events.get(idx.get(j));
      TokenRecord.Builder b =
          TokenRecord.newBuilder()
              .setImageId(e.getId())
              .setModelName(s.name())
              .setModelVersion(s.version())
              .setTokenCount(enc.tokens())
              .setTokenDim(enc.dim())
              // Dense payloads keep the argmax view; the compact ones leave it out (it would add
              // ~2 bytes a token) — topk and codes carry the codes themselves.
              .setCodeIndices(
                  encoding.dense() ? Arrays.stream(enc.codes(j)).boxed().toList() : null)
              .setEncodeLatencyMicros(micros)
              .setSourceTopic(r.topic())
              .setSourcePartition(r.partition())
              .setSourceOffset(r.offset())
              .setEventTime(e.getEventTime())
              .setContentSha256(ContentHash.sha256Hex(e.getImageBytes()))
              .setWorkerId(workerId);
      TokenRecord t =
          TokenCodec.fill(b, enc.image(j), enc.tokens(), enc.dim(), encoding, s.codebook()).build();
      String topic = topics.tokens();
      out.add(
          new Output(
              r,
              new ProducerRecord<>(topic, null, r.key(), tokens.serialize(topic, t)),
              false,
              e.getEventTime().toEpochMilli()));
    }
  }

  /**
   * The buffer's bytes: its own array when it is exactly that (as Avro reads them), else a copy.
   */
  private static byte[] bytes(ByteBuffer b) {
    if (b.hasArray()
        && b.arrayOffset() == 0
        && b.position() == 0
        && b.remaining() == b.array().length) {
      return b.array();
    }
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  @Override
  public void release() {
    if (feed != null) {
      feed.close();
    }
    slot.close();
    if (decoders != null) {
      decoders.shutdownNow();
    }
    super.release();
  }
}
