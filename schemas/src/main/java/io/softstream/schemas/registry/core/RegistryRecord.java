package io.softstream.schemas.registry.core;

import io.softstream.schemas.registry.CompatibilityLevel;
import java.util.Objects;

/**
 * One durable state change of the registry, as written to the store. Replaying every record in
 * order rebuilds the registry's state; a later record with the same key replaces an earlier one, so
 * the store may be a compacted topic.
 */
public sealed interface RegistryRecord {

  /**
   * A version of a subject. Soft delete rewrites the same (subject, version) with {@code
   * deleted=true}.
   *
   * @param subject subject name
   * @param version version within the subject, from 1
   * @param id global schema id
   * @param schema canonical schema text
   * @param deleted whether the version is soft-deleted
   */
  record SchemaRecord(String subject, int version, int id, String schema, boolean deleted)
      implements RegistryRecord {
    public SchemaRecord {
      Objects.requireNonNull(subject, "subject");
      Objects.requireNonNull(schema, "schema");
      if (version < 1 || id < 1) {
        throw new IllegalArgumentException(
            "version and id must be >= 1, got version " + version + ", id " + id);
      }
    }
  }

  /**
   * A compatibility setting.
   *
   * @param subject the subject, or {@code null} for the global setting
   * @param level the level, or {@code null} when the subject's override is removed
   */
  record ConfigRecord(String subject, CompatibilityLevel level) implements RegistryRecord {}
}
