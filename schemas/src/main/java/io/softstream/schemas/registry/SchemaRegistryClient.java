package io.softstream.schemas.registry;

import java.io.Closeable;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.avro.Schema;

/**
 * The subset of the Confluent Schema Registry API that producers, consumers and operators use.
 *
 * <p>Implementations: {@code RestSchemaRegistryClient} (HTTP, any Confluent-compatible registry)
 * and {@code InMemorySchemaRegistryClient} (for {@code mock://scope} URLs in tests). Wrap either in
 * {@code CachingSchemaRegistryClient} for the serde's hot path. Obtain one with {@link
 * SchemaRegistryClients#create(java.util.Map)}.
 *
 * <p>Errors: a registry error response throws {@link SchemaRegistryException} carrying the
 * Confluent error code (40401 subject not found, 40403 schema not found, 409 incompatible, 42201
 * invalid schema...); 401/403 throw Kafka's {@code AuthenticationException}/{@code
 * AuthorizationException}; an unreachable registry, a timeout or a 5xx after retries throws {@link
 * SchemaRegistryUnavailableException} (retriable).
 */
public interface SchemaRegistryClient extends Closeable {

  /** Subject suffix conventions and the special version meaning "latest". */
  int LATEST_VERSION = -1;

  /**
   * Registers {@code schema} under {@code subject} (POST /subjects/{subject}/versions). Idempotent:
   * the same schema under the same subject returns the same id and version.
   *
   * @throws SchemaRegistryException 409/40901 if incompatible with the subject's compatibility
   *     level, 42201 if the schema is invalid
   */
  RegisteredSchema register(String subject, Schema schema);

  /** Finds {@code schema} among the versions of {@code subject} (POST /subjects/{subject}). */
  RegisteredSchema lookup(String subject, Schema schema);

  /** The schema with this global id (GET /schemas/ids/{id}); 40403 if unknown. */
  Schema schemaById(int id);

  /** The schema with this GUID (GET /schemas/guids/{guid}); 40403 if unknown. */
  Schema schemaByGuid(UUID guid);

  /** The global id of the schema with this GUID, if the registry knows it. */
  Optional<Integer> idForGuid(UUID guid);

  /** All live subjects (GET /subjects), sorted. */
  List<String> subjects();

  /** Version numbers of {@code subject} (GET /subjects/{subject}/versions); 40401 if unknown. */
  List<Integer> versions(String subject);

  /**
   * One version of a subject (GET /subjects/{subject}/versions/{version}); {@link #LATEST_VERSION}
   * for the latest.
   */
  RegisteredSchema version(String subject, int version);

  /**
   * Tests {@code schema} against {@code subject} under its compatibility level (POST
   * /compatibility/subjects/{subject}/versions/latest?verbose=true). A subject with no versions is
   * compatible.
   */
  CompatibilityResult testCompatibility(String subject, Schema schema);

  /**
   * Effective compatibility level of {@code subject}, falling back to the global level; {@code
   * null} subject means the global level (GET /config[/subject]).
   */
  CompatibilityLevel compatibility(String subject);

  /**
   * Sets the compatibility level of {@code subject}, or the global level if {@code null} (PUT
   * /config).
   */
  void setCompatibility(String subject, CompatibilityLevel level);

  /**
   * Soft-deletes all versions of a subject (DELETE /subjects/{subject}); returns the deleted
   * versions.
   */
  List<Integer> deleteSubject(String subject);

  @Override
  default void close() {}
}
