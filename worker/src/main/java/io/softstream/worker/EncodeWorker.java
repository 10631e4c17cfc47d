package io.softstream.worker;

import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.worker.internals.ImagePreprocessor;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Consumes {@code ImageEvent}s, decodes and fits each image to the model, encodes micro-batches and
 * publishes one {@code TokenRecord} per image, keyed by the image key, exactly once. Bad records go to
 * the dead-letter topic with the reason.
 */
public final class EncodeWorker extends AbstractWorker {
  private final TokenizerRuntime runtime;
  private final TokenizerConfig model;
  private final ImagePreprocessor preprocessor;
  private final AvroDeserializer<ImageEvent> images;
  private final AvroSerializer<TokenRecord> tokens;
  private final TokenDtype dtype;
  private final String modelName;
  private final int modelVersion;

  public EncodeWorker(WorkerConfig config) {
    super(config, "encode", layout(config).images());
    Path dir = Path.of(config.getString(WorkerConfig.MODEL_DIR));
    this.runtime = TokenizerRuntimes.open(dir, config.engine(), TokenizerRuntimes.Part.ENCODER,
        new TokenizerRuntimes.Options(config.getInt(WorkerConfig.ENGINE_THREADS)));
    this.model = runtime.config();
    this.modelName = config.getString(WorkerConfig.MODEL_NAME).isEmpty() ? runtime.card().name()
        : config.getString(WorkerConfig.MODEL_NAME);
    this.modelVersion = config.getInt(WorkerConfig.MODEL_VERSION);
    this.preprocessor = new ImagePreprocessor(model.imageSize(), model.channels(), config.resize(),
        config.getInt(WorkerConfig.IMAGE_MAX_BYTES), config.getLong(WorkerConfig.IMAGE_MAX_PIXELS));
    this.images = new AvroDeserializer<>(registry, ImageEvent.class);
    this.images.configure(config.serdeConfig(), false);
    this.tokens = new AvroSerializer<>(registry, config.serdeConfig(), false);
    this.dtype = config.getString(WorkerConfig.TOKEN_DTYPE).equals("fp16") ? TokenDtype.FP16 : TokenDtype.FP32;
    warmUp();
    metrics.activeModel(modelName, modelVersion);
    markReady();
  }

  // The first forward pass allocates and JIT-compiles; do it before reporting ready.
  private void warmUp() {
    int b = Math.min(4, config.getInt(WorkerConfig.BATCH_MAX_RECORDS));
    float[] px = new float[b * preprocessor.floatsPerImage()];
    TokenizerRuntime.Encoded e = runtime.encode(px, b);
    for (float v : e.values()) {
      if (!Float.isFinite(v)) {
        throw new IllegalStateException("Model " + modelName + " produced non-finite tokens on warm-up: refusing to serve it");
      }
    }
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    List<Output> out = new ArrayList<>(batch.size());
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>(batch.size());
    List<ImageEvent> events = new ArrayList<>(batch.size());
    int per = preprocessor.floatsPerImage();
    float[] pixels = new float[batch.size() * per];
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      try {
        if (r.value() == null) {
          throw new PoisonRecordException("EmptyRecord", "The record has no value (tombstone); expected an ImageEvent.");
        }
        ImageEvent e = images.deserialize(r.topic(), r.headers(), r.value());
        byte[] img = bytes(e.getImageBytes());
        preprocessor.decodeInto(img, e.getContentType(), pixels, good.size() * per);
        good.add(r);
        events.add(e);
      } catch (PoisonRecordException p) {
        out.add(deadLetter(r, p));
      } catch (RetriableException retry) {
        throw retry;
      } catch (SerializationException s) {
        out.add(unreadable(r, s));
      }
    }
    if (good.isEmpty()) {
      return out;
    }
    long t0 = System.nanoTime();
    TokenizerRuntime.Encoded enc = runtime.encode(Arrays.copyOf(pixels, good.size() * per), good.size());
    long micros = (System.nanoTime() - t0) / 1000;
    metrics.inference(Duration.ofNanos(micros * 1000));
    for (int i = 0; i < good.size(); i++) {
      ConsumerRecord<byte[], byte[]> r = good.get(i);
      ImageEvent e = events.get(i);
      TokenRecord t = TokenRecord.newBuilder()
          .setImageId(e.getId())
          .setModelName(modelName)
          .setModelVersion(modelVersion)
          .setTokenCount(enc.tokens())
          .setTokenDim(enc.dim())
          .setDtype(dtype)
          .setTokens(ByteBuffer.wrap(TokenPacking.pack(enc.image(i), dtype)))
          .setCodeIndices(Arrays.stream(enc.codes(i)).boxed().toList())
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
    return out;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  @Override
  public void release() {
    runtime.close();
    super.release();
  }
}
