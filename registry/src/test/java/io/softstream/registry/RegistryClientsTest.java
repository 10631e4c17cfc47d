package io.softstream.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.registry.CachingSchemaRegistryClient;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.CompatibilityResult;
import io.softstream.schemas.registry.InMemorySchemaRegistryClient;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.registry.SchemaRegistryUnavailableException;
import io.softstream.schemas.registry.core.RegistryStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The factory, the in-memory and caching clients, and the REST client against a server kept in
 * memory.
 */
class RegistryClientsTest {
  static final Schema V1 =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}");
  static final Schema V2 =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
                  + "{\"name\":\"b\",\"type\":\"int\",\"default\":1}]}");
  static final Schema V2_NO_DEFAULT =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
                  + "{\"name\":\"b\",\"type\":\"int\"}]}");

  @AfterEach
  void dropScopes() {
    InMemorySchemaRegistryClient.dropScope("clients-test");
  }

  @Test
  void missingUrlIsAClearConfigError() {
    assertThatThrownBy(() -> SchemaRegistryClients.create(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.url")
        .hasMessageContaining("http://localhost:8081")
        .hasMessageContaining("mock://");
  }

  @Test
  void invalidSettingsAreRefused() {
    assertThatThrownBy(
            () ->
                SchemaRegistryClients.create(
                    Map.of(
                        SchemaRegistryClients.SCHEMA_REGISTRY_URL,
                        "http://x:1",
                        SchemaRegistryClients.RETRIES,
                        -1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.retries");
    assertThatThrownBy(
            () ->
                SchemaRegistryClients.create(
                    Map.of(
                        SchemaRegistryClients.SCHEMA_REGISTRY_URL, "http://x:1",
                        SchemaRegistryClients.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("basic.auth.user.info");
    assertThatThrownBy(
            () ->
                SchemaRegistryClients.create(
                    Map.of(SchemaRegistryClients.SCHEMA_REGISTRY_URL, "ftp://x")))
        .hasMessageContaining("http://");
  }

  @Test
  void mockUrlsShareOneInMemoryRegistryPerScope() {
    SchemaRegistryClient a =
        SchemaRegistryClients.create(
            Map.of(SchemaRegistryClients.SCHEMA_REGISTRY_URL, "mock://clients-test"));
    SchemaRegistryClient b =
        SchemaRegistryClients.create(
            Map.of(SchemaRegistryClients.SCHEMA_REGISTRY_URL, "mock://clients-test"));
    assertThat(a).isInstanceOf(CachingSchemaRegistryClient.class);
    assertThat(((CachingSchemaRegistryClient) a).delegate())
        .isSameAs(((CachingSchemaRegistryClient) b).delegate())
        .isSameAs(InMemorySchemaRegistryClient.forScope("clients-test"));

    int id = a.register("t-value", V1).id();
    assertThat(b.schemaById(id)).isEqualTo(V1);

    InMemorySchemaRegistryClient.dropScope("clients-test");
    assertThat(InMemorySchemaRegistryClient.forScope("clients-test").subjects()).isEmpty();
  }

  @Test
  void inMemoryClientFollowsTheRegistryRules() {
    SchemaRegistryClient c = new InMemorySchemaRegistryClient();
    RegisteredSchema r1 = c.register("s", V1);
    assertThat(c.register("s", V1)).isEqualTo(r1);
    assertThat(c.lookup("s", V1)).isEqualTo(r1);
    assertThat(c.testCompatibility("s", V2_NO_DEFAULT).compatible()).isFalse();
    assertThatThrownBy(() -> c.register("s", V2_NO_DEFAULT))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(409));
    c.setCompatibility("s", CompatibilityLevel.FORWARD);
    assertThat(c.compatibility("s")).isEqualTo(CompatibilityLevel.FORWARD);
    assertThat(c.compatibility(null)).isEqualTo(CompatibilityLevel.BACKWARD);
    assertThat(c.register("s", V2_NO_DEFAULT).version()).isEqualTo(2);
    assertThat(c.idForGuid(r1.guid())).contains(1);
    assertThat(c.schemaByGuid(r1.guid())).isEqualTo(V1);
    assertThat(c.deleteSubject("s")).containsExactly(1, 2);
    assertThat(c.subjects()).isEmpty();
  }

  @Test
  void cachingClientAsksTheDelegateOnceAndPassesTheRestThrough() {
    List<String> calls = new ArrayList<>();
    InMemorySchemaRegistryClient real = new InMemorySchemaRegistryClient();
    SchemaRegistryClient counting = counting(real, calls);
    CachingSchemaRegistryClient c = new CachingSchemaRegistryClient(counting, 2);

    RegisteredSchema r = c.register("s", V1);
    assertThat(c.register("s", V1)).isEqualTo(r);
    assertThat(c.schemaById(r.id())).isEqualTo(V1); // filled by register
    assertThat(c.lookup("s", V1)).isEqualTo(r);
    assertThat(c.lookup("s", V1)).isEqualTo(r);
    assertThat(c.schemaByGuid(r.guid())).isEqualTo(V1);
    assertThat(c.schemaByGuid(r.guid())).isEqualTo(V1);
    c.versions("s");
    c.versions("s");
    assertThat(calls).containsExactly("register", "lookup", "schemaByGuid", "versions", "versions");

    // errors are not cached
    assertThatThrownBy(() -> c.schemaById(99)).isInstanceOf(SchemaRegistryException.class);
    assertThatThrownBy(() -> c.schemaById(99)).isInstanceOf(SchemaRegistryException.class);
    assertThat(calls).endsWith("schemaById", "schemaById");

    // delete invalidates the subject's register cache: re-registering makes a new version
    c.deleteSubject("s");
    assertThat(c.register("s", V1).version()).isEqualTo(2);

    // bounded: capacity 2 evicts the least recently used id
    c.register("t", V2);
    real.setCompatibility("u", CompatibilityLevel.NONE);
    int id3 = real.register("u", new Schema.Parser().parse("{\"type\":\"string\"}")).id();
    calls.clear();
    c.schemaById(id3); // miss: evicts 1, the least recently used
    c.schemaById(2); // hit
    c.schemaById(1); // miss: evicts id3
    c.schemaById(2); // hit
    c.schemaById(id3); // miss
    assertThat(calls).containsExactly("schemaById", "schemaById", "schemaById");
  }

  @Test
  void restClientAgainstAnInMemoryServer() throws Exception {
    try (SchemaRegistryServer server =
        SchemaRegistryServer.builder()
            .optStore(RegistryStore.inMemory())
            .optPort(0)
            .build()
            .start()) {
      SchemaRegistryClient c =
          SchemaRegistryClients.create(
              Map.of(SchemaRegistryClients.SCHEMA_REGISTRY_URL, server.url()));
      String subject = "weird/subject name+1";
      RegisteredSchema r1 = c.register(subject, V1);
      assertThat(r1.id()).isEqualTo(1);
      assertThat(r1.version()).isEqualTo(1);
      assertThat(r1.guid()).isNotNull();
      assertThat(c.subjects()).containsExactly(subject);
      CompatibilityResult bad = c.testCompatibility(subject, V2_NO_DEFAULT);
      assertThat(bad.compatible()).isFalse();
      assertThat(bad.messages()).singleElement().asString().contains("'b' has no default");
      assertThat(c.register(subject, V2).version()).isEqualTo(2);
      assertThat(c.version(subject, SchemaRegistryClient.LATEST_VERSION).schema()).isEqualTo(V2);
      assertThat(c.lookup(subject, V1).version()).isEqualTo(1);
      assertThat(c.schemaByGuid(r1.guid())).isEqualTo(V1);
      assertThat(c.idForGuid(r1.guid())).isEqualTo(Optional.of(1));
      assertThat(c.idForGuid(UUID.randomUUID())).isEmpty();
      assertThat(c.testCompatibility("fresh", V2_NO_DEFAULT).compatible()).isTrue();
      assertThat(c.compatibility(subject)).isEqualTo(CompatibilityLevel.BACKWARD);
      c.setCompatibility(null, CompatibilityLevel.FULL);
      assertThat(c.compatibility(subject)).isEqualTo(CompatibilityLevel.FULL);
      assertThat(c.deleteSubject(subject)).containsExactly(1, 2);
      assertThat(c.subjects()).isEmpty();
    }
  }

  @Test
  void storeFailureIsA50001AndTheClientReportsTheRegistryUnavailable() throws Exception {
    RegistryStore broken =
        new RegistryStore() {
          @Override
          public void replay(
              java.util.function.Consumer<io.softstream.schemas.registry.core.RegistryRecord> s) {}

          @Override
          public void write(List<io.softstream.schemas.registry.core.RegistryRecord> records) {
            throw new IllegalStateException("Write to schema topic '_schemas' failed: broker down");
          }
        };
    try (SchemaRegistryServer server =
        SchemaRegistryServer.builder().optStore(broken).optPort(0).build().start()) {
      java.net.http.HttpResponse<String> raw =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(server.url() + "/subjects/s/versions"))
                      .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                      .POST(
                          java.net.http.HttpRequest.BodyPublishers.ofString(
                              "{\"schema\":\"\\\"string\\\"\"}"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(raw.statusCode()).isEqualTo(500);
      assertThat(raw.body()).contains("\"error_code\":50001").contains("broker down");
      assertThat(server.core().subjects(true)).isEmpty();

      SchemaRegistryClient c =
          SchemaRegistryClients.create(
              Map.of(
                  SchemaRegistryClients.SCHEMA_REGISTRY_URL,
                  server.url(),
                  SchemaRegistryClients.RETRIES,
                  1,
                  SchemaRegistryClients.RETRY_BACKOFF_MS,
                  1L));
      assertThatThrownBy(() -> c.register("s", V1))
          .isInstanceOf(SchemaRegistryUnavailableException.class)
          .hasMessageContaining("50001")
          .hasMessageContaining(server.url());
    }
  }

  private static SchemaRegistryClient counting(SchemaRegistryClient d, List<String> calls) {
    return (SchemaRegistryClient)
        java.lang.reflect.Proxy.newProxyInstance(
            SchemaRegistryClient.class.getClassLoader(),
            new Class<?>[] {SchemaRegistryClient.class},
            (proxy, m, args) -> {
              calls.add(m.getName());
              try {
                return m.invoke(d, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
