package io.softstream.worker;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.worker.internals.ModelFeed;
import io.softstream.worker.internals.ModelSlot;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Consumes {@code TokenRecord}s and publishes the reconstructed images as PNG {@code ImageEvent}s
 * on the reconstructions topic, exactly once. Each record is decoded by the decoder of exactly the
 * model version that produced it: the one in {@code model.dir}, and with {@code model.watch=true}
 * the ACTIVE decoder and any version announced on the model-versions topic (loaded in the
 * background on first use, a few kept loaded), so old tokens still decode after a new version took
 * over. A version not loaded yet never blocks the record path: the batch is retried once the
 * background has loaded it. Tokens of a version that the catalog, read to its end, does not name
 * are dead-lettered with the versions known.
 */
public final class DecodeWorker extends AbstractWorker {
  private static final int MAX_LOADED = 4;

  private final AvroDeserializer<TokenRecord> tokens;
  private final AvroSerializer<ImageEvent> images;
  private final ModelFeed feed;
  private final ModelSlot<TokenDecoding> slot;

  public DecodeWorker(WorkerConfig config) {
    super(config, "decode", layout(config).tokens());
    this.tokens = new AvroDeserializer<>(registry, TokenRecord.class);
    this.tokens.configure(config.serdeConfig(), false);
    this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
    boolean watch = config.getBoolean(WorkerConfig.MODEL_WATCH);
    this.feed =
        watch
            ? new ModelFeed(
                config.clientConfig(),
                registry,
                topics,
                Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR)))
            : null;
    TokenDecoding local =
        config.getString(WorkerConfig.MODEL_DIR).isEmpty()
            ? null
            : open(
                Path.of(config.getString(WorkerConfig.MODEL_DIR)),
                config.getString(WorkerConfig.MODEL_NAME),
                config.getInt(WorkerConfig.MODEL_VERSION));
    String name = local != null ? local.modelName() : config.getString(WorkerConfig.MODEL_NAME);
    this.slot =
        new ModelSlot<>(
            new ModelSlot.Settings(name, ModelKind.DECODER, 0, MAX_LOADED),
            watch ? feed.artifacts() : null,
            watch ? feed.cacheDir() : null,
            (dir, v) -> open(dir, v.getName(), v.getVersion()),
            metrics);
    if (local != null) {
      slot.startOn(local.modelName(), local.modelVersion(), local);
    }
    if (feed != null) {
      feed.feed(slot);
      feed.start();
    }
    markReady();
  }

  private TokenDecoding open(Path dir, String name, int version) {
    TokenDecoding d =
        TokenDecoding.open(dir, config.engine(), name, version, config.engineThreads());
    try {
      d.warmUp();
      return d;
    } catch (RuntimeException e) {
      d.close();
      throw e;
    }
  }

  /**
   * The decoder of exactly this version, held by {@code lease}.
   *
   * @throws ModelSlot.ModelNotReadyException (retriable) while it is looked up or loaded in the
   *     background
   * @throws PoisonRecordException if no announcement names it or it cannot be loaded
   */
  private TokenDecoding decoderFor(ModelSlot.Lease<TokenDecoding> lease, TokenRecord t) {
    Optional<ModelSlot.Model<TokenDecoding>> m =
        t.getModelName().toString().equals(slot.settings().name())
            ? lease.version(t.getModelVersion())
            : Optional.empty();
    return m.map(ModelSlot.Model::get)
        .orElseThrow(
            () ->
                new PoisonRecordException(
                    "UnknownModelVersion",
                    "Tokens of image "
                        + t.getImageId()
                        + " come from "
                        + t.getModelName()
                        + ":"
                        + t.getModelVersion()
                        + ", which no announcement "
                        + (feed == null ? "(model.watch is off)" : "on " + feed.topic())
                        + " names; this decoder serves "
                        + slot.loaded()
                        + ". Decode them with that version's model."));
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    try (ModelSlot.Lease<TokenDecoding> lease = slot.begin()) {
      return process(batch, lease);
    }
  }

  private List<Output> process(
      List<ConsumerRecord<byte[], byte[]>> batch, ModelSlot.Lease<TokenDecoding> lease) {
    List<Output> out = new ArrayList<>();
    Map<TokenDecoding, List<Integer>> groups = new LinkedHashMap<>();
    List<TokenRecord> records = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      ConsumerRecord<byte[], byte[]> r = batch.get(i);
      int index = i;
      TokenRecord t =
          readOrDeadLetter(
              r,
              "a TokenRecord",
              out,
              rec -> {
                TokenRecord parsed = tokens.deserialize(rec.topic(), rec.headers(), rec.value());
                TokenDecoding d = decoderFor(lease, parsed);
                d.check(parsed);
                groups.computeIfAbsent(d, k -> new ArrayList<>()).add(index);
                return parsed;
              });
      if (t != null) {
        while (records.size() < i) {
          records.add(null);
        }
        records.add(t);
      }
    }
    String topic = topics.reconstructions();
    for (Map.Entry<TokenDecoding, List<Integer>> g : groups.entrySet()) {
      List<TokenRecord> group = g.getValue().stream().map(records::get).toList();
      long t0 = System.nanoTime();
      List<BufferedImage> decoded = g.getKey().decode(group);
      metrics.inference(Duration.ofNanos(System.nanoTime() - t0));
      metrics.recordsOutByVersion(g.getKey().modelName(), g.getKey().modelVersion(), group.size());
      for (int j = 0; j < group.size(); j++) {
        ConsumerRecord<byte[], byte[]> src = batch.get(g.getValue().get(j));
        TokenRecord t = group.get(j);
        BufferedImage img = decoded.get(j);
        ImageEvent e =
            ImageEvent.newBuilder()
                .setId(t.getImageId())
                .setSource("reconstruction by " + t.getModelName() + ":" + t.getModelVersion())
                .setContentType("image/png")
                .setImageBytes(ByteBuffer.wrap(TokenDecoding.png(img)))
                .setWidth(img.getWidth())
                .setHeight(img.getHeight())
                .setEventTime(t.getEventTime())
                .setAttributes(
                    Map.of(
                        "model",
                        t.getModelName() + ":" + t.getModelVersion(),
                        "tokens",
                        src.topic() + "/" + src.partition() + "@" + src.offset()))
                .build();
        out.add(
            new Output(
                src,
                new ProducerRecord<>(topic, null, src.key(), images.serialize(topic, e)),
                false,
                t.getEventTime().toEpochMilli()));
      }
    }
    return out;
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
