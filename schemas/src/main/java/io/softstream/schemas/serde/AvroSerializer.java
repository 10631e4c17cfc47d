package io.softstream.schemas.serde;

import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer for Avro records (specific or generic) in the Confluent V0 wire format: magic
 * byte 0, the 4-byte big-endian schema id from the registry, then Avro binary.
 *
 * <p>Configure it with {@link AvroSerdeConfig} keys, or construct it with a client (then {@code
 * configure} only reads the serde keys).
 */
public class AvroSerializer<T extends IndexedRecord> implements Serializer<T> {
  private SchemaRegistryClient client;
  private boolean ownsClient;
  private boolean isKey;
  private AvroSerdeConfig config;
  private final Map<Schema, DatumWriter<Object>> writers = new ConcurrentHashMap<>();
  private final Map<SubjectSchema, Integer> ids = new ConcurrentHashMap<>();

  // Schema caches its hash and equals() starts with identity: the lookup costs no schema-to-JSON.
  private record SubjectSchema(String subject, Schema schema) {}

  /** For Kafka's reflective construction; {@link #configure} must follow. */
  public AvroSerializer() {}

  /**
   * With an existing registry client (shared caches); {@link #configure} still sets the serde keys.
   */
  public AvroSerializer(SchemaRegistryClient client, Map<String, ?> configs, boolean isKey) {
    this.client = client;
    configure(configs, isKey);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    this.config = new AvroSerdeConfig(configs);
    if (client == null) {
      client = SchemaRegistryClients.create(configs);
      ownsClient = true;
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    return serialize(topic, null, data);
  }

  @Override
  public byte[] serialize(String topic, Headers headers, T record) {
    if (record == null) {
      return null;
    }
    if (config == null) {
      throw new IllegalStateException(
          "You must configure() the AvroSerializer before serialize(), or use "
              + "the constructor that takes a SchemaRegistryClient and configs.");
    }
    Schema schema = record.getSchema();
    String subject = config.subjectNameStrategy(isKey).subject(topic, isKey, schema);
    int id = schemaId(subject, schema);
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(256);
      out.write(WireFormat.MAGIC_V0);
      out.write(id >>> 24);
      out.write(id >>> 16);
      out.write(id >>> 8);
      out.write(id);
      BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(out, null);
      writers.computeIfAbsent(schema, AvroSerializer::writerFor).write(record, enc);
      enc.flush();
      return out.toByteArray();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "Could not serialize a "
              + schema.getFullName()
              + " for subject "
              + subject
              + " (topic "
              + topic
              + "): "
              + e.getMessage(),
          e);
    }
  }

  private int schemaId(String subject, Schema schema) {
    SubjectSchema key = new SubjectSchema(subject, schema);
    Integer cached = ids.get(key);
    if (cached != null) {
      return cached;
    }
    RegisteredSchema reg;
    if (config.getBoolean(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS)) {
      reg = client.register(subject, schema);
    } else if (config.getBoolean(AvroSerdeConfig.USE_LATEST_VERSION)) {
      reg = client.version(subject, SchemaRegistryClient.LATEST_VERSION);
    } else {
      reg = client.lookup(subject, schema);
    }
    ids.put(key, reg.id());
    return reg.id();
  }

  @SuppressWarnings("unchecked")
  private static DatumWriter<Object> writerFor(Schema schema) {
    Class<?> c = SpecificData.get().getClass(schema);
    if (c != null && SpecificRecord.class.isAssignableFrom(c)) {
      return (DatumWriter<Object>) (DatumWriter<?>) new SpecificDatumWriter<>(schema);
    }
    return new GenericDatumWriter<>(schema);
  }

  /** The registry client in use (shared with a paired deserializer if desired). */
  public SchemaRegistryClient client() {
    return client;
  }

  @Override
  public void close() {
    if (ownsClient && client != null) {
      client.close();
    }
  }
}
