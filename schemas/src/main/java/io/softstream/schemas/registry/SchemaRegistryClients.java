package io.softstream.schemas.registry;

import java.util.Map;

/** Creates registry clients from serde-style configuration. */
public final class SchemaRegistryClients {
  private SchemaRegistryClients() {}

  /** Placeholder until the REST client lands. */
  public static SchemaRegistryClient create(Map<String, ?> configs) {
    throw new UnsupportedOperationException("not yet");
  }
}
