package io.softstream.topology.streams.ingest;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.topology.models.ModelCatalog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The model-versions topic as a global table: every instance of the gate holds every announcement,
 * with its offset, so that it applies {@link ModelCatalog#activeOf} — the same "active" rule as
 * {@code softstream models list} and the workers. A plain {@code GlobalKTable} would lose the
 * offset the rule orders by; a global store filled by {@link Updater} keeps it (Streams re-runs the
 * updater when it restores the store at start-up).
 */
public final class ModelTable {
  private ModelTable() {}

  /** Store values: the offset (8 bytes), then the ModelVersion's Avro single-object encoding. */
  static final Serde<ModelCatalog.Entry> ENTRY_SERDE =
      Serdes.serdeFrom(
          (Serializer<ModelCatalog.Entry>)
              (topic, e) -> {
                if (e == null) {
                  return null;
                }
                try {
                  ByteBuffer v = e.version().toByteBuffer();
                  return ByteBuffer.allocate(8 + v.remaining()).putLong(e.offset()).put(v).array();
                } catch (IOException x) {
                  throw new UncheckedIOException(x);
                }
              },
          (Deserializer<ModelCatalog.Entry>)
              (topic, b) -> {
                if (b == null) {
                  return null;
                }
                try {
                  ByteBuffer buf = ByteBuffer.wrap(b);
                  long offset = buf.getLong();
                  return new ModelCatalog.Entry(ModelVersion.fromByteBuffer(buf.slice()), offset);
                } catch (IOException x) {
                  throw new UncheckedIOException(x);
                }
              });

  /** The active encoder in {@code store} ({@code name} empty = the most recently activated). */
  static Optional<ModelVersion> activeEncoder(
      KeyValueStore<String, ModelCatalog.Entry> store, String name) {
    List<ModelCatalog.Entry> all = new ArrayList<>();
    try (KeyValueIterator<String, ModelCatalog.Entry> it = store.all()) {
      it.forEachRemaining(kv -> all.add(kv.value));
    }
    return ModelCatalog.activeOf(all, name, ModelKind.ENCODER);
  }

  /** Keeps the latest announcement of each version with its offset; a tombstone removes it. */
  static final class Updater extends ContextualProcessor<String, ModelVersion, Void, Void> {
    private KeyValueStore<String, ModelCatalog.Entry> store;

    @Override
    public void init(org.apache.kafka.streams.processor.api.ProcessorContext<Void, Void> context) {
      super.init(context);
      store = context.getStateStore(IngestGateApp.MODEL_STORE);
    }

    @Override
    public void process(Record<String, ModelVersion> r) {
      if (r.key() == null) {
        return;
      }
      if (r.value() == null) {
        store.delete(r.key());
      } else {
        long offset = context().recordMetadata().map(m -> m.offset()).orElse(-1L);
        store.put(r.key(), new ModelCatalog.Entry(r.value(), offset));
      }
    }
  }
}
