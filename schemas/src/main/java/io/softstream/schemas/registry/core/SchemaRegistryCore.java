package io.softstream.schemas.registry.core;

import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.CompatibilityResult;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.registry.core.RegistryRecord.ConfigRecord;
import io.softstream.schemas.registry.core.RegistryRecord.SchemaRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaIncompatibilityType;

/**
 * The registry's state and rules, without HTTP: subjects → versions → schemas, global ids, GUIDs,
 * compatibility configuration and checks. Thread-safe (every method holds the instance lock).
 *
 * <p>Every change is first written to the {@link RegistryStore} and applied only once the store has
 * accepted it; a store failure surfaces as {@link SchemaRegistryException} 50001 and leaves the
 * state unchanged. On construction the store is replayed to rebuild the state. One writer per store
 * is assumed: a second registry on the same store would not see this one's writes and could hand
 * out the same id twice.
 *
 * <p>Schema identity: a schema is canonicalised to Avro's compact JSON ({@link Schema#toString()}),
 * which drops whitespace and orders attributes but keeps docs, defaults, aliases and custom
 * properties, since those change the meaning or the compatibility of a schema. The same canonical
 * text gets the same id under every subject; its GUID is the name-based UUID of the canonical text.
 */
public final class SchemaRegistryCore {

  /** A (subject, version) pair, as listed by {@link #subjectVersionsForId}. */
  public record SubjectVersion(String subject, int version) {}

  private record Entry(int id, String canonical, Schema schema, UUID guid) {}

  private record Version(int version, int id, boolean deleted) {}

  private final RegistryStore store;
  private final Map<Integer, Entry> byId = new HashMap<>();
  private final Map<String, Integer> idByCanonical = new HashMap<>();
  private final Map<UUID, Integer> idByGuid = new HashMap<>();
  private final Map<String, TreeMap<Integer, Version>> subjects = new TreeMap<>();
  private final Map<String, CompatibilityLevel> subjectConfig = new HashMap<>();
  private CompatibilityLevel globalConfig = CompatibilityLevel.BACKWARD;
  private int maxId;

  /** A registry that keeps its state only in memory. */
  public SchemaRegistryCore() {
    this(RegistryStore.inMemory());
  }

  /** A registry whose state is rebuilt from, and written to, {@code store}. */
  public SchemaRegistryCore(RegistryStore store) {
    this.store = store;
    synchronized (this) {
      store.replay(this::apply);
    }
  }

  // ---------------------------------------------------------------- schemas and subjects

  /**
   * Registers {@code schemaText} under {@code subject}; idempotent. Only Avro is supported ({@code
   * schemaType} null or "AVRO").
   *
   * @throws SchemaRegistryException 42201 invalid schema, 409 incompatible, 50001 store failure
   */
  public synchronized RegisteredSchema register(
      String subject, String schemaText, String schemaType) {
    requireSubject(subject);
    Schema schema = parse(schemaText, schemaType);
    String canonical = schema.toString();
    TreeMap<Integer, Version> versions = subjects.getOrDefault(subject, new TreeMap<>());
    Integer knownId = idByCanonical.get(canonical);
    if (knownId != null) {
      for (Version v : versions.values()) {
        if (!v.deleted() && v.id() == knownId) {
          return registered(subject, v);
        }
      }
    }
    CompatibilityLevel level = compatibility(subject);
    List<String> problems = check(subject, schema, level, required(level, liveVersions(versions)));
    if (!problems.isEmpty()) {
      throw new SchemaRegistryException(
          409,
          SchemaRegistryException.INCOMPATIBLE_SCHEMA,
          "Schema being registered is incompatible with an earlier schema for subject '"
              + subject
              + "' (compatibility "
              + level
              + "): "
              + String.join("; ", problems)
              + ". Make the change compatible (e.g. give new fields a default) or change the"
              + " subject's level with PUT /config/"
              + subject);
    }
    int id = knownId != null ? knownId : maxId + 1;
    int version = versions.isEmpty() ? 1 : versions.lastKey() + 1;
    SchemaRecord record = new SchemaRecord(subject, version, id, canonical, false);
    persist(List.of(record));
    return registered(subject, subjects.get(subject).get(version));
  }

  /**
   * Finds {@code schemaText} among the live versions of {@code subject}.
   *
   * @throws SchemaRegistryException 40401 unknown subject, 40403 schema not under the subject,
   *     42201
   */
  public synchronized RegisteredSchema lookup(
      String subject, String schemaText, String schemaType) {
    Schema schema = parse(schemaText, schemaType);
    TreeMap<Integer, Version> versions = liveSubject(subject);
    Integer id = idByCanonical.get(schema.toString());
    if (id != null) {
      for (Version v : versions.values()) {
        if (!v.deleted() && v.id() == id) {
          return registered(subject, v);
        }
      }
    }
    throw new SchemaRegistryException(
        404,
        SchemaRegistryException.SCHEMA_NOT_FOUND,
        "Schema not found under subject '" + subject + "'; register it first");
  }

  /** The schema with this global id; 40403 if unknown. */
  public synchronized Schema schemaById(int id) {
    return entry(id).schema();
  }

  /** The GUID of the schema with this global id; 40403 if unknown. */
  public synchronized UUID guidForId(int id) {
    return entry(id).guid();
  }

  /** The schema with this GUID; 40403 if unknown. */
  public synchronized Schema schemaByGuid(UUID guid) {
    Integer id = idByGuid.get(guid);
    if (id == null) {
      throw new SchemaRegistryException(
          404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema with GUID " + guid + " not found");
    }
    return byId.get(id).schema();
  }

  /** The global id of the schema with this GUID, if known. */
  public synchronized Optional<Integer> idForGuid(UUID guid) {
    return Optional.ofNullable(idByGuid.get(guid));
  }

  /** The highest id handed out so far (0 when empty). */
  public synchronized int maxId() {
    return maxId;
  }

  /** The (subject, version) pairs that use schema {@code id}; 40403 if the id is unknown. */
  public synchronized List<SubjectVersion> subjectVersionsForId(int id, boolean includeDeleted) {
    entry(id);
    List<SubjectVersion> out = new ArrayList<>();
    subjects.forEach(
        (subject, versions) ->
            versions.values().stream()
                .filter(v -> v.id() == id && (includeDeleted || !v.deleted()))
                .forEach(v -> out.add(new SubjectVersion(subject, v.version()))));
    return out;
  }

  /** Subjects, sorted; those whose versions are all soft-deleted only if {@code includeDeleted}. */
  public synchronized List<String> subjects(boolean includeDeleted) {
    List<String> out = new ArrayList<>();
    subjects.forEach(
        (subject, versions) -> {
          if (includeDeleted || !liveVersions(versions).isEmpty()) {
            out.add(subject);
          }
        });
    return out;
  }

  /** Version numbers of {@code subject}, ascending; 40401 if it has no live versions. */
  public synchronized List<Integer> versions(String subject, boolean includeDeleted) {
    TreeMap<Integer, Version> versions =
        includeDeleted ? subjects.getOrDefault(subject, new TreeMap<>()) : liveSubject(subject);
    if (versions.isEmpty()) {
      throw subjectNotFound(subject);
    }
    List<Integer> out = new ArrayList<>();
    versions.values().stream()
        .filter(v -> includeDeleted || !v.deleted())
        .forEach(v -> out.add(v.version()));
    return out;
  }

  /**
   * One version of {@code subject}; {@code -1} means the latest live version.
   *
   * @throws SchemaRegistryException 40401 unknown subject, 40402 unknown version, 42202 bad number
   */
  public synchronized RegisteredSchema version(
      String subject, int version, boolean includeDeleted) {
    if (version == 0 || version < -1) {
      throw invalidVersion(String.valueOf(version));
    }
    if (version == -1) {
      List<Version> live = liveVersions(liveSubject(subject));
      return registered(subject, live.get(live.size() - 1));
    }
    TreeMap<Integer, Version> versions =
        includeDeleted ? subjects.getOrDefault(subject, new TreeMap<>()) : liveSubject(subject);
    if (versions.isEmpty()) {
      throw subjectNotFound(subject);
    }
    Version v = versions.get(version);
    if (v == null || (v.deleted() && !includeDeleted)) {
      throw new SchemaRegistryException(
          404,
          SchemaRegistryException.VERSION_NOT_FOUND,
          "Version " + version + " not found under subject '" + subject + "'");
    }
    return registered(subject, v);
  }

  /**
   * Soft-deletes every live version of {@code subject} and returns their numbers.
   *
   * @throws SchemaRegistryException 40401 unknown subject, 40404 already soft-deleted
   */
  public synchronized List<Integer> deleteSubject(String subject) {
    TreeMap<Integer, Version> versions = subjects.get(subject);
    if (versions == null) {
      throw subjectNotFound(subject);
    }
    List<Version> live = liveVersions(versions);
    if (live.isEmpty()) {
      throw new SchemaRegistryException(
          404,
          SchemaRegistryException.SUBJECT_SOFT_DELETED,
          "Subject '" + subject + "' was soft deleted already");
    }
    List<RegistryRecord> records = new ArrayList<>();
    List<Integer> deleted = new ArrayList<>();
    for (Version v : live) {
      records.add(
          new SchemaRecord(subject, v.version(), v.id(), byId.get(v.id()).canonical(), true));
      deleted.add(v.version());
    }
    persist(records);
    return deleted;
  }

  // ---------------------------------------------------------------- compatibility

  /**
   * Tests {@code schemaText} against {@code subject} under its effective level: against {@code
   * version} only when given (-1 = latest), otherwise against the versions the level asks for (all
   * live ones for *_TRANSITIVE, the latest for the others). A subject without versions is
   * compatible.
   */
  public synchronized CompatibilityResult testCompatibility(
      String subject, String schemaText, String schemaType, Integer version) {
    Schema schema = parse(schemaText, schemaType);
    CompatibilityLevel level = compatibility(subject);
    List<Version> live = liveVersions(subjects.getOrDefault(subject, new TreeMap<>()));
    List<Version> against;
    if (version == null) {
      against = required(level, live);
    } else if (version == -1) {
      against = live.isEmpty() ? List.of() : List.of(live.get(live.size() - 1));
    } else {
      RegisteredSchema target = version(subject, version, false);
      against = List.of(new Version(target.version(), target.id(), false));
    }
    List<String> problems = check(subject, schema, level, against);
    return new CompatibilityResult(problems.isEmpty(), problems);
  }

  /** The effective level of {@code subject} (its own, else the global one); null = global. */
  public synchronized CompatibilityLevel compatibility(String subject) {
    if (subject == null) {
      return globalConfig;
    }
    return subjectConfig.getOrDefault(subject, globalConfig);
  }

  /** The level set on {@code subject} itself, if any. */
  public synchronized Optional<CompatibilityLevel> subjectCompatibility(String subject) {
    return Optional.ofNullable(subjectConfig.get(subject));
  }

  /** Sets the level of {@code subject}, or the global level when {@code subject} is null. */
  public synchronized void setCompatibility(String subject, CompatibilityLevel level) {
    if (level == null) {
      throw new SchemaRegistryException(
          422,
          SchemaRegistryException.INVALID_COMPATIBILITY_LEVEL,
          "Compatibility level must be one of "
              + java.util.Arrays.toString(CompatibilityLevel.values()));
    }
    persist(List.of(new ConfigRecord(subject, level)));
  }

  /**
   * Removes the level set on {@code subject}, returning it.
   *
   * @throws SchemaRegistryException 40408 if the subject has no level of its own
   */
  public synchronized CompatibilityLevel deleteSubjectCompatibility(String subject) {
    CompatibilityLevel old = subjectConfig.get(subject);
    if (old == null) {
      throw compatibilityNotConfigured(subject);
    }
    persist(List.of(new ConfigRecord(subject, null)));
    return old;
  }

  /** The error for a subject without its own compatibility level (40408). */
  public static SchemaRegistryException compatibilityNotConfigured(String subject) {
    return new SchemaRegistryException(
        404,
        SchemaRegistryException.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        "Subject '"
            + subject
            + "' does not have subject-level compatibility configured; add ?defaultToGlobal=true"
            + " to get the global level");
  }

  // ---------------------------------------------------------------- internals

  /**
   * The versions a new schema must be checked against: all live ones if transitive, else the
   * latest.
   */
  private static List<Version> required(CompatibilityLevel level, List<Version> live) {
    if (live.isEmpty() || level.name().endsWith("_TRANSITIVE")) {
      return live;
    }
    return List.of(live.get(live.size() - 1));
  }

  private List<String> check(
      String subject, Schema candidate, CompatibilityLevel level, List<Version> against) {
    if (level == CompatibilityLevel.NONE) {
      return List.of();
    }
    boolean backward =
        level != CompatibilityLevel.FORWARD && level != CompatibilityLevel.FORWARD_TRANSITIVE;
    boolean forward =
        level != CompatibilityLevel.BACKWARD && level != CompatibilityLevel.BACKWARD_TRANSITIVE;
    List<String> problems = new ArrayList<>();
    for (Version v : against) {
      Schema existing = byId.get(v.id()).schema();
      if (backward) {
        describe(
            SchemaCompatibility.checkReaderWriterCompatibility(candidate, existing),
            "new schema cannot read data written with version "
                + v.version()
                + " of '"
                + subject
                + "'",
            problems);
      }
      if (forward) {
        describe(
            SchemaCompatibility.checkReaderWriterCompatibility(existing, candidate),
            "version "
                + v.version()
                + " of '"
                + subject
                + "' cannot read data written with the new schema",
            problems);
      }
    }
    return problems;
  }

  private static void describe(
      SchemaCompatibility.SchemaPairCompatibility pair, String what, List<String> problems) {
    if (pair.getType() == SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    for (Incompatibility i : pair.getResult().getIncompatibilities()) {
      String detail =
          i.getType() == SchemaIncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE
              ? "field '"
                  + i.getMessage()
                  + "' has no default value and is missing from the writer's schema"
              : i.getMessage();
      problems.add(what + ": " + detail + " (" + i.getType() + " at " + i.getLocation() + ")");
    }
  }

  private Schema parse(String schemaText, String schemaType) {
    if (schemaType != null && !schemaType.isEmpty() && !"AVRO".equalsIgnoreCase(schemaType)) {
      throw new SchemaRegistryException(
          422,
          SchemaRegistryException.INVALID_SCHEMA,
          "Unsupported schemaType '" + schemaType + "': this registry stores AVRO schemas only");
    }
    if (schemaText == null || schemaText.isBlank()) {
      throw new SchemaRegistryException(
          422, SchemaRegistryException.INVALID_SCHEMA, "Invalid schema: the schema text is empty");
    }
    try {
      return new Schema.Parser().parse(schemaText);
    } catch (
        RuntimeException e) { // the parser throws SchemaParseException and others for bad input
      throw new SchemaRegistryException(
          422, SchemaRegistryException.INVALID_SCHEMA, "Invalid Avro schema: " + e.getMessage());
    }
  }

  private void persist(List<RegistryRecord> records) {
    try {
      store.write(records);
    } catch (SchemaRegistryException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new SchemaRegistryException(
          500,
          SchemaRegistryException.STORE_ERROR,
          "Could not store the change ("
              + e
              + "); nothing was changed. Check that the Kafka cluster holding the registry's topic"
              + " is reachable, then retry");
    }
    records.forEach(this::apply);
  }

  /** Applies a stored record to the in-memory state; used for replay and after each write. */
  private void apply(RegistryRecord record) {
    if (record instanceof SchemaRecord s) {
      if (!byId.containsKey(s.id())) {
        Schema schema = new Schema.Parser().parse(s.schema());
        String canonical = schema.toString();
        UUID guid = UUID.nameUUIDFromBytes(canonical.getBytes(StandardCharsets.UTF_8));
        byId.put(s.id(), new Entry(s.id(), canonical, schema, guid));
        idByCanonical.putIfAbsent(canonical, s.id());
        idByGuid.putIfAbsent(guid, s.id());
      }
      maxId = Math.max(maxId, s.id());
      subjects
          .computeIfAbsent(s.subject(), k -> new TreeMap<>())
          .put(s.version(), new Version(s.version(), s.id(), s.deleted()));
    } else if (record instanceof ConfigRecord c) {
      if (c.subject() == null) {
        globalConfig = c.level() == null ? CompatibilityLevel.BACKWARD : c.level();
      } else if (c.level() == null) {
        subjectConfig.remove(c.subject());
      } else {
        subjectConfig.put(c.subject(), c.level());
      }
    }
  }

  private Entry entry(int id) {
    Entry e = byId.get(id);
    if (e == null) {
      throw new SchemaRegistryException(
          404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + id + " not found");
    }
    return e;
  }

  private RegisteredSchema registered(String subject, Version v) {
    Entry e = byId.get(v.id());
    return new RegisteredSchema(subject, e.id(), v.version(), e.guid(), e.schema());
  }

  private TreeMap<Integer, Version> liveSubject(String subject) {
    TreeMap<Integer, Version> versions = subjects.get(subject);
    if (versions == null || liveVersions(versions).isEmpty()) {
      throw subjectNotFound(subject);
    }
    return versions;
  }

  private static List<Version> liveVersions(TreeMap<Integer, Version> versions) {
    return versions.values().stream().filter(v -> !v.deleted()).toList();
  }

  private static void requireSubject(String subject) {
    if (subject == null || subject.isBlank()) {
      throw new SchemaRegistryException(422, 42208, "Invalid subject: it must not be empty");
    }
  }

  private static SchemaRegistryException subjectNotFound(String subject) {
    return new SchemaRegistryException(
        404, SchemaRegistryException.SUBJECT_NOT_FOUND, "Subject '" + subject + "' not found");
  }

  /** The error for a version that is not a positive number, "latest" or -1 (42202). */
  public static SchemaRegistryException invalidVersion(String version) {
    return new SchemaRegistryException(
        422,
        SchemaRegistryException.INVALID_VERSION,
        "The specified version '"
            + version
            + "' is not a valid version id; allowed: 1 to 2^31-1, \"latest\" or -1");
  }
}
