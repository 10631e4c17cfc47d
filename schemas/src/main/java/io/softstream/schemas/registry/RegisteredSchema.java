package io.softstream.schemas.registry;

import java.util.Objects;
import java.util.UUID;
import org.apache.avro.Schema;

/**
 * A schema as stored under a subject: global id, version within the subject, GUID and the schema.
 *
 * @param subject subject name, e.g. {@code images-value}
 * @param id global schema id (same schema text, same id, across subjects)
 * @param version version within the subject, from 1
 * @param guid the schema's GUID (newer Confluent wire format); may be {@code null} when a registry
 *     does not report one
 * @param schema the parsed Avro schema
 */
public record RegisteredSchema(String subject, int id, int version, UUID guid, Schema schema) {
  public RegisteredSchema {
    Objects.requireNonNull(schema, "schema");
    if (id < 0) {
      throw new IllegalArgumentException("schema id must be >= 0, got " + id);
    }
  }
}
