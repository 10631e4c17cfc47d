package io.softstream.schemas.registry.core;

import java.io.Closeable;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where the registry keeps its state changes. {@link KafkaRegistryStore} is the durable one; {@link
 * #inMemory()} keeps nothing (for tests and {@code mock://} clients).
 */
public interface RegistryStore extends Closeable {

  /** Hands every stored record to {@code sink}, oldest first, and returns once caught up. */
  void replay(Consumer<RegistryRecord> sink);

  /**
   * Durably writes {@code records} in order before returning.
   *
   * @throws RuntimeException if the records may not have been stored; the caller must not apply
   *     them
   */
  void write(List<RegistryRecord> records);

  @Override
  default void close() {}

  /** A store that keeps nothing: state lives only in the {@link SchemaRegistryCore}. */
  static RegistryStore inMemory() {
    return new RegistryStore() {
      @Override
      public void replay(Consumer<RegistryRecord> sink) {}

      @Override
      public void write(List<RegistryRecord> records) {}
    };
  }
}
