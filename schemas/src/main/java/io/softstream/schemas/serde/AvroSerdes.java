package io.softstream.schemas.serde;

import io.softstream.schemas.registry.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** Ready-made Kafka {@link Serde}s over one shared registry client. */
public final class AvroSerdes {
  private AvroSerdes() {}

  /** A serde for one generated record class (values unless {@code isKey}). */
  public static <T extends SpecificRecord> Serde<T> specific(
      Class<T> type, SchemaRegistryClient client, Map<String, ?> configs, boolean isKey) {
    AvroSerializer<T> ser = new AvroSerializer<>(client, configs, isKey);
    AvroDeserializer<T> de = new AvroDeserializer<>(client, type);
    de.configure(configs, isKey);
    return Serdes.serdeFrom(ser, de);
  }

  /** A serde for generic records in the writer's schema. */
  public static Serde<GenericRecord> generic(
      SchemaRegistryClient client, Map<String, ?> configs, boolean isKey) {
    AvroSerializer<GenericRecord> ser = new AvroSerializer<>(client, configs, isKey);
    AvroDeserializer<GenericRecord> de = new AvroDeserializer<>(client, null);
    java.util.HashMap<String, Object> c = new java.util.HashMap<>(configs);
    c.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, false);
    de.configure(c, isKey);
    return Serdes.serdeFrom(ser, de);
  }
}
