/**
 * Kafka serdes for Avro records in the Confluent wire format ({@link
 * io.softstream.schemas.serde.AvroSerializer}, {@link
 * io.softstream.schemas.serde.AvroDeserializer}, {@link io.softstream.schemas.serde.AvroSerdes}),
 * configured with Confluent's keys.
 */
package io.softstream.schemas.serde;
