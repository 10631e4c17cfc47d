package io.softstream.schemas.registry;

import io.softstream.schemas.registry.core.SchemaRegistryCore;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.avro.Schema;

/**
 * A {@link SchemaRegistryClient} backed directly by a {@link SchemaRegistryCore}, with no HTTP and
 * nothing persisted: the same rules, ids and error codes as the server. {@code mock://scope} URLs
 * map to {@link #forScope}: the same scope name gives the same instance, so a serializer and a
 * deserializer configured with the same URL share schemas. Tests drop a scope with {@link
 * #dropScope}.
 */
public final class InMemorySchemaRegistryClient implements SchemaRegistryClient {
  private static final ConcurrentMap<String, InMemorySchemaRegistryClient> SCOPES =
      new ConcurrentHashMap<>();

  private final SchemaRegistryCore core;

  /** A fresh registry of its own, not registered under any scope. */
  public InMemorySchemaRegistryClient() {
    this(new SchemaRegistryCore());
  }

  /** A client over an existing core, e.g. the one inside an embedded server. */
  public InMemorySchemaRegistryClient(SchemaRegistryCore core) {
    this.core = core;
  }

  /** The registry of {@code scope}, created on first use. */
  public static InMemorySchemaRegistryClient forScope(String scope) {
    return SCOPES.computeIfAbsent(scope, s -> new InMemorySchemaRegistryClient());
  }

  /** Forgets {@code scope}: the next {@link #forScope} with this name starts empty. */
  public static void dropScope(String scope) {
    SCOPES.remove(scope);
  }

  /** The core behind this client. */
  public SchemaRegistryCore core() {
    return core;
  }

  @Override
  public RegisteredSchema register(String subject, Schema schema) {
    return core.register(subject, schema.toString(), null);
  }

  @Override
  public RegisteredSchema lookup(String subject, Schema schema) {
    return core.lookup(subject, schema.toString(), null);
  }

  @Override
  public Schema schemaById(int id) {
    return core.schemaById(id);
  }

  @Override
  public Schema schemaByGuid(UUID guid) {
    return core.schemaByGuid(guid);
  }

  @Override
  public Optional<Integer> idForGuid(UUID guid) {
    return core.idForGuid(guid);
  }

  @Override
  public List<String> subjects() {
    return core.subjects(false);
  }

  @Override
  public List<Integer> versions(String subject) {
    return core.versions(subject, false);
  }

  @Override
  public RegisteredSchema version(String subject, int version) {
    return core.version(subject, version, false);
  }

  @Override
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    return core.testCompatibility(subject, schema.toString(), null, LATEST_VERSION);
  }

  @Override
  public CompatibilityLevel compatibility(String subject) {
    return core.compatibility(subject);
  }

  @Override
  public void setCompatibility(String subject, CompatibilityLevel level) {
    core.setCompatibility(subject, level);
  }

  @Override
  public List<Integer> deleteSubject(String subject) {
    return core.deleteSubject(subject);
  }
}
