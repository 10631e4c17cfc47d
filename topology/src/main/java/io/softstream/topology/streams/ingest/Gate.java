package io.softstream.topology.streams.ingest;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.images.ContentHash;
import io.softstream.schemas.images.DeclaredSize;
import io.softstream.schemas.images.ImageHeader;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.streams.DeadLetterHandlers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.TimestampedKeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;

/** The ingest gate's processors (see {@link IngestGateApp} for the picture and guarantees). */
final class Gate {
  private Gate() {}

  /** Headers that carry an image's ingest key and coordinates through the repartition topic. */
  static final String KEY_HEADER = "softstream.ingest.key";

  static final String COORDS_HEADER = "softstream.ingest.coords";
  static final String METRICS_GROUP = "ingest-gate";

  record Settings(
      TopicLayout topics,
      ImageLimits limits,
      boolean cacheEnabled,
      String modelName,
      Duration retention,
      String who,
      SchemaRegistryClient registry,
      Map<String, Object> serde) {}

  enum Route {
    IMAGE,
    LOOKUP,
    DEAD_LETTER,
    TOKEN
  }

  /** Where a record goes, and its serialized value there. */
  record Routed(Route route, byte[] value) {}

  static String cacheKey(String model, int version, String sha256) {
    return model + ":" + version + ":" + sha256;
  }

  static Sensor sensor(ProcessorContext<?, ?> c, String operation) {
    return c.metrics()
        .addRateTotalSensor(METRICS_GROUP, "gate", operation, Sensor.RecordingLevel.INFO);
  }

  /** Validates each ingested record and routes it (see {@link IngestGateApp}). */
  static final class Check extends ContextualProcessor<byte[], byte[], byte[], Routed> {
    private final Settings s;
    private AvroDeserializer<ImageEvent> images;
    private AvroSerializer<DeadLetter> deadLetters;
    private KeyValueStore<String, ModelCatalog.Entry> models;
    private Sensor rejected;
    private Sensor forwarded;

    Check(Settings s) {
      this.s = s;
    }

    @Override
    public void init(ProcessorContext<byte[], Routed> context) {
      super.init(context);
      images = new AvroDeserializer<>(s.registry(), ImageEvent.class);
      images.configure(s.serde(), false);
      deadLetters = new AvroSerializer<>(s.registry(), s.serde(), false);
      models = context.getStateStore(IngestGateApp.MODEL_STORE);
      rejected = sensor(context, "dead-letter");
      forwarded = sensor(context, "forwarded");
    }

    @Override
    public void process(Record<byte[], byte[]> r) {
      RecordMetadata m = context().recordMetadata().orElseThrow();
      ImageEvent e;
      try {
        if (r.value() == null) {
          reject(
              r, m, "EmptyRecord", "The record has no value (tombstone); expected an ImageEvent.");
          return;
        }
        e = images.deserialize(m.topic(), r.headers(), r.value());
      } catch (RetriableException retry) {
        throw retry;
      } catch (SerializationException x) {
        reject(r, m, DeadLetterHandlers.unreadableClass(x), x.getMessage());
        return;
      }
      if (e.getId() == null || e.getId().isBlank()) {
        reject(
            r,
            m,
            "MissingId",
            "The ImageEvent has no id; set id to the image's unique id (and use it as the record key).");
        return;
      }
      byte[] bytes = bytes(e.getImageBytes());
      ImageHeader header;
      try {
        header = s.limits().check(bytes, e.getContentType());
      } catch (ImageLimits.RejectedImage x) {
        reject(r, m, x.errorClass(), x.getMessage());
        return;
      }
      Optional<String> wrongSize =
          DeclaredSize.mismatch(
              e.getId(), e.getWidth(), e.getHeight(), header.width(), header.height());
      if (wrongSize.isPresent()) {
        reject(r, m, DeclaredSize.ERROR_CLASS, wrongSize.get());
        return;
      }
      forwarded.record();
      Optional<ModelVersion> active =
          s.cacheEnabled() ? ModelTable.activeEncoder(models, s.modelName()) : Optional.empty();
      if (active.isEmpty()) {
        context().forward(r.withValue(new Routed(Route.IMAGE, r.value())));
        return;
      }
      String key =
          cacheKey(
              active.get().getName(),
              active.get().getVersion(),
              ContentHash.sha256Hex(e.getImageBytes()));
      Headers h = r.headers();
      if (r.key() != null) {
        h.add(KEY_HEADER, r.key());
      }
      h.add(
          COORDS_HEADER,
          (m.topic() + ":" + m.partition() + ":" + m.offset()).getBytes(StandardCharsets.UTF_8));
      context()
          .forward(
              new Record<>(
                  key.getBytes(StandardCharsets.UTF_8),
                  new Routed(Route.LOOKUP, r.value()),
                  r.timestamp(),
                  h));
    }

    private void reject(Record<byte[], byte[]> r, RecordMetadata m, String cls, String reason) {
      rejected.record();
      DeadLetter dl =
          DeadLetterHandlers.deadLetter(
              m.topic(),
              m.partition(),
              m.offset(),
              r.key(),
              r.value(),
              cls,
              reason,
              s.who(),
              Instant.ofEpochMilli(context().currentSystemTimeMs()));
      Headers h = r.headers();
      h.add("error_class", cls.getBytes(StandardCharsets.UTF_8));
      String topic = s.topics().deadLetters();
      context()
          .forward(
              r.withValue(new Routed(Route.DEAD_LETTER, deadLetters.serialize(topic, h, dl)))
                  .withHeaders(h));
    }

    @Override
    public void close() {
      images.close();
    }
  }

  /** Answers an image from the token cache, or sends it on to the encode workers. */
  static final class Lookup extends ContextualProcessor<byte[], byte[], byte[], Routed> {
    private final Settings s;
    private AvroDeserializer<ImageEvent> images;
    private AvroSerializer<TokenRecord> tokens;
    private TimestampedKeyValueStore<String, TokenRecord> cache;
    private Sensor hits;
    private Sensor misses;

    Lookup(Settings s) {
      this.s = s;
    }

    @Override
    public void init(ProcessorContext<byte[], Routed> context) {
      super.init(context);
      images = new AvroDeserializer<>(s.registry(), ImageEvent.class);
      images.configure(s.serde(), false);
      tokens = new AvroSerializer<>(s.registry(), s.serde(), false);
      cache = context.getStateStore(IngestGateApp.CACHE_STORE);
      hits = sensor(context, "hit");
      misses = sensor(context, "miss");
    }

    @Override
    public void process(Record<byte[], byte[]> r) {
      Headers h = r.headers();
      Header keyHeader = h.lastHeader(KEY_HEADER);
      Header coords = h.lastHeader(COORDS_HEADER);
      h.remove(KEY_HEADER);
      h.remove(COORDS_HEADER);
      byte[] key = keyHeader == null ? null : keyHeader.value();
      ValueAndTimestamp<TokenRecord> cached =
          cache.get(new String(r.key(), StandardCharsets.UTF_8));
      if (cached == null || expired(cached.timestamp())) {
        misses.record();
        context().forward(new Record<>(key, new Routed(Route.IMAGE, r.value()), r.timestamp(), h));
        return;
      }
      hits.record();
      String topic = s.topics().tokens();
      ImageEvent e = images.deserialize(topic, null, r.value());
      String[] c =
          coords == null
              ? new String[] {"", "-1", "-1"}
              : new String(coords.value(), StandardCharsets.UTF_8).split(":");
      // Kafka topic names cannot hold ":", so the coordinates split cleanly.
      TokenRecord t =
          TokenRecord.newBuilder(cached.value())
              .setImageId(e.getId())
              .setCacheHit(true)
              .setWorkerId(null)
              .setSourceTopic(c[0])
              .setSourcePartition(Integer.parseInt(c[1]))
              .setSourceOffset(Long.parseLong(c[2]))
              .setEventTime(e.getEventTime())
              .build();
      context()
          .forward(
              new Record<>(
                  key, new Routed(Route.TOKEN, tokens.serialize(topic, t)), r.timestamp(), h));
    }

    private boolean expired(long written) {
      return written < context().currentSystemTimeMs() - s.retention().toMillis();
    }

    @Override
    public void close() {
      images.close();
    }
  }

  /** Fills the token cache from the tokens topic and expires old entries. */
  static final class Feed extends ContextualProcessor<byte[], TokenRecord, Void, Void> {
    private final Settings s;
    private TimestampedKeyValueStore<String, TokenRecord> cache;

    Feed(Settings s) {
      this.s = s;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      super.init(context);
      cache = context.getStateStore(IngestGateApp.CACHE_STORE);
      long every = Math.max(1000, Math.min(s.retention().toMillis() / 4, 60_000));
      context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::expire);
    }

    @Override
    public void process(Record<byte[], TokenRecord> r) {
      // A record without a timestamp counts as written now, so retention still applies.
      long ts = r.timestamp() > 0 ? r.timestamp() : context().currentSystemTimeMs();
      cache.put(new String(r.key(), StandardCharsets.UTF_8), ValueAndTimestamp.make(r.value(), ts));
    }

    private void expire(long now) {
      long limit = now - s.retention().toMillis();
      List<String> old = new ArrayList<>();
      try (KeyValueIterator<String, ValueAndTimestamp<TokenRecord>> it = cache.all()) {
        while (it.hasNext()) {
          KeyValue<String, ValueAndTimestamp<TokenRecord>> kv = it.next();
          if (kv.value.timestamp() < limit) {
            old.add(kv.key);
          }
        }
      }
      old.forEach(cache::delete);
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }
}
