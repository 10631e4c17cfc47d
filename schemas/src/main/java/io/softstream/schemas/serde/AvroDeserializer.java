package io.softstream.schemas.serde;

import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryException;
import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for Confluent-framed Avro: reads the V0 (schema id) and V1 (schema GUID)
 * prefixes and the schema-id record headers. With a target class, or {@code
 * specific.avro.reader=true} and the generated class on the classpath, it resolves the writer's
 * schema to the reader's (schema evolution); otherwise it returns {@code GenericRecord}s in the
 * writer's schema.
 *
 * <p>Failures are typed: {@link UnknownMagicByteException}, {@link TruncatedRecordException},
 * {@link UnknownSchemaException}, {@link
 * io.softstream.schemas.registry.SchemaRegistryUnavailableException} (retriable), or {@link
 * SerializationException} for an Avro payload that does not match its schema.
 */
public class AvroDeserializer<T extends IndexedRecord> implements Deserializer<T> {
  private SchemaRegistryClient client;
  private boolean ownsClient;
  private boolean isKey;
  private boolean specific = true;
  private Schema readerSchema;
  private final Class<T> type;
  private final Map<Object, Schema> writerSchemas = new ConcurrentHashMap<>();
  private final Map<Object, DatumReader<Object>> readers = new ConcurrentHashMap<>();

  /** Generic or specific by {@code specific.avro.reader}; {@link #configure} must follow. */
  public AvroDeserializer() {
    this.type = null;
  }

  /** Always returns {@code type}, resolving any compatible writer schema to the class's schema. */
  public AvroDeserializer(SchemaRegistryClient client, Class<T> type) {
    this.client = client;
    this.type = type;
    this.readerSchema = type == null ? null : SpecificData.get().getSchema(type);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    AvroSerdeConfig config = new AvroSerdeConfig(configs);
    this.specific = config.getBoolean(AvroSerdeConfig.SPECIFIC_AVRO_READER);
    if (client == null) {
      client = SchemaRegistryClients.create(configs);
      ownsClient = true;
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return deserialize(topic, null, data);
  }

  @Override
  @SuppressWarnings("unchecked")
  public T deserialize(String topic, Headers headers, byte[] data) {
    if (data == null) {
      return null;
    }
    if (client == null) {
      throw new IllegalStateException(
          "You must configure() the AvroDeserializer before deserialize(), or "
              + "use the constructor that takes a SchemaRegistryClient.");
    }
    String where = (isKey ? "key" : "value") + " of a record on topic " + topic;
    WireFormat.SchemaRef ref = WireFormat.parse(data, headers, isKey, where);
    Schema writer = writerSchema(ref, where);
    Schema reader = readerSchema != null ? readerSchema : specificSchemaFor(writer);
    DatumReader<Object> datumReader =
        readers.computeIfAbsent(pairKey(writer, reader), k -> readerFor(writer, reader));
    BinaryDecoder dec =
        DecoderFactory.get()
            .binaryDecoder(data, ref.payloadOffset(), data.length - ref.payloadOffset(), null);
    try {
      Object value = datumReader.read(null, dec);
      if (!dec.isEnd()) {
        throw new SerializationException(
            "The "
                + where
                + " has "
                + (data.length - ref.payloadOffset())
                + " payload bytes but "
                + writer.getFullName()
                + " ("
                + ref
                + ") used fewer: trailing bytes.");
      }
      return (T) value;
    } catch (EOFException e) {
      throw new TruncatedRecordException(
          "The Avro payload of the "
              + where
              + " ends early ("
              + (data.length - ref.payloadOffset())
              + " bytes) for "
              + writer.getFullName()
              + " ("
              + ref
              + "): the record was truncated.",
          e);
    } catch (IOException
        | AvroRuntimeException
        | ArrayIndexOutOfBoundsException
        | NegativeArraySizeException
        // Avro's answer to a length prefix beyond 2^31 ("Cannot read arrays longer than ...").
        | UnsupportedOperationException
        | ClassCastException e) {
      throw new SerializationException(
          "Could not decode the " + where + " as " + writer.getFullName() + " (" + ref + "): " + e,
          e);
    }
  }

  private Schema writerSchema(WireFormat.SchemaRef ref, String where) {
    Object key = ref.hasId() ? (Object) ref.schemaId() : ref.guid();
    Schema cached = writerSchemas.get(key);
    if (cached != null) {
      return cached;
    }
    Schema s;
    try {
      s = ref.hasId() ? client.schemaById(ref.schemaId()) : client.schemaByGuid((UUID) key);
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() == 404) {
        throw new UnknownSchemaException(
            "The "
                + where
                + " names "
                + ref
                + ", which the schema registry "
                + "does not know: the record was written against another registry, or the schema was deleted.",
            e);
      }
      throw e;
    }
    writerSchemas.put(key, s);
    return s;
  }

  private Schema specificSchemaFor(Schema writer) {
    if (!specific) {
      return writer;
    }
    Class<?> c = SpecificData.get().getClass(writer);
    if (c != null && SpecificRecord.class.isAssignableFrom(c)) {
      return SpecificData.get().getSchema(c);
    }
    return writer;
  }

  private static Object pairKey(Schema writer, Schema reader) {
    return writer == reader ? writer : Map.entry(writer, reader);
  }

  @SuppressWarnings("unchecked")
  private DatumReader<Object> readerFor(Schema writer, Schema reader) {
    Class<?> c = SpecificData.get().getClass(reader);
    if (specific && c != null && SpecificRecord.class.isAssignableFrom(c)) {
      return (DatumReader<Object>) (DatumReader<?>) new SpecificDatumReader<>(writer, reader);
    }
    return new GenericDatumReader<>(writer, reader);
  }

  @Override
  public void close() {
    if (ownsClient && client != null) {
      client.close();
    }
  }
}
