package io.softstream.schemas.registry;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.apache.avro.Schema;

/**
 * Caches the answers the serde hot path asks for again and again — {@link #schemaById}, {@link
 * #schemaByGuid}, {@link #register} and {@link #lookup} — in bounded LRU maps; everything else goes
 * straight to the wrapped client. Errors are not cached. Thread-safe if the delegate is.
 */
public final class CachingSchemaRegistryClient implements SchemaRegistryClient {
  private record SubjectSchema(String subject, String schema) {}

  private final SchemaRegistryClient delegate;
  private final Map<Integer, Schema> byId;
  private final Map<UUID, Schema> byGuid;
  private final Map<SubjectSchema, RegisteredSchema> registered;
  private final Map<SubjectSchema, RegisteredSchema> lookedUp;

  /** Wraps {@code delegate} with caches of {@code capacity} entries each. */
  public CachingSchemaRegistryClient(SchemaRegistryClient delegate, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("cache capacity must be >= 1, got " + capacity);
    }
    this.delegate = delegate;
    this.byId = lru(capacity);
    this.byGuid = lru(capacity);
    this.registered = lru(capacity);
    this.lookedUp = lru(capacity);
  }

  /** Wraps {@code delegate} with caches of 1000 entries each. */
  public CachingSchemaRegistryClient(SchemaRegistryClient delegate) {
    this(delegate, 1000);
  }

  /** The wrapped client. */
  public SchemaRegistryClient delegate() {
    return delegate;
  }

  private static <K, V> Map<K, V> lru(int capacity) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > capacity;
      }
    };
  }

  // Not computeIfAbsent under the lock: the delegate call may be slow HTTP, and must not block
  // readers.
  private static <K, V> V cached(Map<K, V> cache, K key, Function<K, V> load) {
    synchronized (cache) {
      V v = cache.get(key);
      if (v != null) {
        return v;
      }
    }
    V v = load.apply(key);
    synchronized (cache) {
      cache.put(key, v);
    }
    return v;
  }

  @Override
  public RegisteredSchema register(String subject, Schema schema) {
    RegisteredSchema r =
        cached(
            registered,
            new SubjectSchema(subject, schema.toString()),
            k -> delegate.register(subject, schema));
    synchronized (byId) {
      byId.putIfAbsent(r.id(), r.schema());
    }
    return r;
  }

  @Override
  public RegisteredSchema lookup(String subject, Schema schema) {
    return cached(
        lookedUp,
        new SubjectSchema(subject, schema.toString()),
        k -> delegate.lookup(subject, schema));
  }

  @Override
  public Schema schemaById(int id) {
    return cached(byId, id, delegate::schemaById);
  }

  @Override
  public Schema schemaByGuid(UUID guid) {
    return cached(byGuid, guid, delegate::schemaByGuid);
  }

  @Override
  public Optional<Integer> idForGuid(UUID guid) {
    return delegate.idForGuid(guid);
  }

  @Override
  public List<String> subjects() {
    return delegate.subjects();
  }

  @Override
  public List<Integer> versions(String subject) {
    return delegate.versions(subject);
  }

  @Override
  public RegisteredSchema version(String subject, int version) {
    return delegate.version(subject, version);
  }

  @Override
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    return delegate.testCompatibility(subject, schema);
  }

  @Override
  public CompatibilityLevel compatibility(String subject) {
    return delegate.compatibility(subject);
  }

  @Override
  public void setCompatibility(String subject, CompatibilityLevel level) {
    delegate.setCompatibility(subject, level);
  }

  @Override
  public List<Integer> deleteSubject(String subject) {
    List<Integer> deleted = delegate.deleteSubject(subject);
    // a soft-deleted subject re-registers as new versions, so cached versions would be wrong
    synchronized (registered) {
      registered.keySet().removeIf(k -> k.subject().equals(subject));
    }
    synchronized (lookedUp) {
      lookedUp.keySet().removeIf(k -> k.subject().equals(subject));
    }
    return deleted;
  }

  @Override
  public void close() {
    delegate.close();
  }
}
