package io.softstream.worker;

import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.worker.internals.PoisonRecordException;
import io.softstream.worker.internals.TransactionalLoop.Output;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Consumes {@code TokenRecord}s, decodes those of its model version and publishes the reconstructed
 * images as PNG {@code ImageEvent}s on the reconstructions topic, exactly once. Tokens of another
 * model version or shape are dead-lettered with the versions it serves.
 */
public final class DecodeWorker extends AbstractWorker {
  private final TokenDecoding decoding;
  private final AvroDeserializer<TokenRecord> tokens;
  private final AvroSerializer<ImageEvent> images;

  public DecodeWorker(WorkerConfig config) {
    super(config, "decode", layout(config).tokens());
    this.decoding = TokenDecoding.open(Path.of(config.getString(WorkerConfig.MODEL_DIR)), config.engine(),
        config.getString(WorkerConfig.MODEL_NAME), config.getInt(WorkerConfig.MODEL_VERSION),
        config.getInt(WorkerConfig.ENGINE_THREADS));
    this.tokens = new AvroDeserializer<>(registry, TokenRecord.class);
    this.tokens.configure(config.serdeConfig(), false);
    this.images = new AvroSerializer<>(registry, config.serdeConfig(), false);
    decoding.warmUp();
    metrics.activeModel(decoding.modelName(), decoding.modelVersion());
    markReady();
  }

  @Override
  protected List<Output> process(List<ConsumerRecord<byte[], byte[]>> batch) {
    List<Output> out = new ArrayList<>();
    List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>();
    List<TokenRecord> records = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : batch) {
      try {
        if (r.value() == null) {
          throw new PoisonRecordException("EmptyRecord", "The record has no value (tombstone); expected a TokenRecord.");
        }
        TokenRecord t = tokens.deserialize(r.topic(), r.headers(), r.value());
        decoding.check(t);
        good.add(r);
        records.add(t);
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
    List<BufferedImage> decoded = decoding.decode(records);
    metrics.inference(Duration.ofNanos(System.nanoTime() - t0));
    String topic = topics.reconstructions();
    for (int i = 0; i < good.size(); i++) {
      TokenRecord t = records.get(i);
      BufferedImage img = decoded.get(i);
      ImageEvent e = ImageEvent.newBuilder()
          .setId(t.getImageId())
          .setSource("reconstruction by " + t.getModelName() + ":" + t.getModelVersion())
          .setContentType("image/png")
          .setImageBytes(ByteBuffer.wrap(TokenDecoding.png(img)))
          .setWidth(img.getWidth())
          .setHeight(img.getHeight())
          .setEventTime(t.getEventTime())
          .setAttributes(Map.of("model", t.getModelName() + ":" + t.getModelVersion(),
              "tokens", good.get(i).topic() + "/" + good.get(i).partition() + "@" + good.get(i).offset()))
          .build();
      out.add(new Output(good.get(i), new ProducerRecord<>(topic, null, good.get(i).key(), images.serialize(topic, e)),
          false, t.getEventTime().toEpochMilli()));
    }
    return out;
  }

  @Override
  public void release() {
    decoding.close();
    super.release();
  }
}
