package io.softstream.worker;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.worker.internals.ModelWatcher;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
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
 * Consumes {@code TokenRecord}s and publishes the reconstructed images as PNG {@code ImageEvent}s on
 * the reconstructions topic, exactly once. Each record is decoded by the decoder of exactly the model
 * version that produced it: the one in {@code model.dir}, and with {@code model.watch=true} any
 * version announced on the model-versions topic (fetched and loaded on first use, a few kept loaded),
 * so old tokens still decode after a new version took over. Tokens of a version nobody announced are
 * dead-lettered with the versions known.
 */
public final class DecodeWorker extends AbstractWorker {
  private static final Logger log = LoggerFactory.getLogger(DecodeWorker.class);
  private static final int MAX_LOADED = 4;

  private final Map<String, TokenDecoding> decoders = new LinkedHashMap<>(8, 0.75f, true);
  private final AvroDeserializer<TokenRecord> tokens;
  private final AvroSerializer<ImageEvent> images;
  private final ModelWatcher watcher;
  private final ModelCatalog catalog;

  public DecodeWorker(WorkerConfig config) {
    super(config, "decode", layout(config).tokens());
    this.tokens = new AvroDeserializer<>(registry, TokenRecord.class);
    this.tokens.configure(config.serdeConfig(), false);
    this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
    String name = config.getString(WorkerConfig.MODEL_NAME);
    if (config.getBoolean(WorkerConfig.MODEL_WATCH)) {
      watcher = new ModelWatcher(config.clientConfig(), registry, topics, name, ModelKind.DECODER, cacheDir(), metrics);
      catalog = new ModelCatalog(config.clientConfig(), registry, topics.modelVersions());
    } else {
      watcher = null;
      catalog = null;
    }
    if (!config.getString(WorkerConfig.MODEL_DIR).isEmpty()) {
      TokenDecoding d = open(Path.of(config.getString(WorkerConfig.MODEL_DIR)), name, config.getInt(WorkerConfig.MODEL_VERSION));
      decoders.put(key(d.modelName(), d.modelVersion()), d);
      metrics.activeModel(d.modelName(), d.modelVersion());
    }
    markReady();
  }

  private TokenDecoding open(Path dir, String name, int version) {
    TokenDecoding d = TokenDecoding.open(dir, config.engine(), name, version, config.engineThreads());
    try {
      d.warmUp();
      return d;
    } catch (RuntimeException e) {
      d.close();
      throw e;
    }
  }

  private Path cacheDir() {
    try {
      return Files.createDirectories(Path.of(config.getString(WorkerConfig.MODEL_CACHE_DIR)));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String key(String name, int version) {
    return name + ":" + version;
  }

  /** The decoder of exactly this version, loading an announced one on first use; null if none is known. */
  private TokenDecoding decoderFor(String name, int version) {
    TokenDecoding d = decoders.get(key(name, version));
    if (d != null || catalog == null) {
      return d;
    }
    catalog.refresh(Duration.ofSeconds(5));
    Optional<ModelVersion> v = catalog.get(name, ModelKind.DECODER, version);
    if (v.isEmpty()) {
      return null;
    }
    try {
      d = open(watcher.materialize(v.get()), name, version);
    } catch (Exception e) {
      throw new PoisonRecordException("UnloadableModelVersion", "Decoder " + name + ":" + version
          + " is announced but cannot be loaded: " + e.getMessage(), e);
    }
    decoders.put(key(name, version), d);
    log.info("Decode worker {} loaded decoder {}:{}", workerId, name, version);
    if (decoders.size() > MAX_LOADED) {
      var eldest = decoders.entrySet().iterator().next();
      eldest.getValue().close();
      decoders.remove(eldest.getKey());
    }
    return d;
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    List<Output> out = new ArrayList<>();
    Map<TokenDecoding, List<Integer>> groups = new LinkedHashMap<>();
    List<TokenRecord> records = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      ConsumerRecord<byte[], byte[]> r = batch.get(i);
      int index = i;
      TokenRecord t = readOrDeadLetter(r, "a TokenRecord", out, rec -> {
        TokenRecord parsed = tokens.deserialize(rec.topic(), rec.headers(), rec.value());
        TokenDecoding d = decoderFor(parsed.getModelName(), parsed.getModelVersion());
        if (d == null) {
          throw new PoisonRecordException("UnknownModelVersion", "Tokens of image " + parsed.getImageId() + " come from "
              + parsed.getModelName() + ":" + parsed.getModelVersion() + ", which no announcement names; this decoder serves "
              + decoders.keySet() + ".");
        }
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
      for (int j = 0; j < group.size(); j++) {
        ConsumerRecord<byte[], byte[]> src = batch.get(g.getValue().get(j));
        TokenRecord t = group.get(j);
        BufferedImage img = decoded.get(j);
        ImageEvent e = ImageEvent.newBuilder()
            .setId(t.getImageId())
            .setSource("reconstruction by " + t.getModelName() + ":" + t.getModelVersion())
            .setContentType("image/png")
            .setImageBytes(ByteBuffer.wrap(TokenDecoding.png(img)))
            .setWidth(img.getWidth())
            .setHeight(img.getHeight())
            .setEventTime(t.getEventTime())
            .setAttributes(Map.of("model", t.getModelName() + ":" + t.getModelVersion(),
                "tokens", src.topic() + "/" + src.partition() + "@" + src.offset()))
            .build();
        out.add(new Output(src, new ProducerRecord<>(topic, null, src.key(), images.serialize(topic, e)), false,
            t.getEventTime().toEpochMilli()));
      }
    }
    return out;
  }

  @Override
  public void release() {
    decoders.values().forEach(TokenDecoding::close);
    if (watcher != null) {
      watcher.close();
      catalog.close();
    }
    super.release();
  }
}
