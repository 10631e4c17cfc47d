package io.softstream.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The REST client against a stub HTTP server that answers what each test scripts. */
class RegistryRestClientFailureTest {

  record Answer(int status, String body) {}

  HttpServer stub;
  final List<Answer> script = new CopyOnWriteArrayList<>();
  final List<String> authHeaders = new CopyOnWriteArrayList<>();
  final List<String> paths = new CopyOnWriteArrayList<>();
  final AtomicInteger calls = new AtomicInteger();
  volatile long delayMs;

  String startStub() throws IOException {
    stub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    stub.createContext("/", this::answer);
    stub.start();
    return "http://127.0.0.1:" + stub.getAddress().getPort();
  }

  void answer(HttpExchange ex) throws IOException {
    int n = calls.getAndIncrement();
    if (delayMs > 0) {
      try {
        Thread.sleep(delayMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    authHeaders.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
    paths.add(ex.getRequestMethod() + " " + ex.getRequestURI());
    Answer a = script.get(Math.min(n, script.size() - 1));
    byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
    ex.sendResponseHeaders(a.status(), body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  @AfterEach
  void stop() {
    if (stub != null) {
      stub.stop(0);
    }
  }

  static SchemaRegistryClient client(String url, Map<String, Object> extra) {
    Map<String, Object> c = new java.util.HashMap<>(extra);
    c.put(SchemaRegistryClients.SCHEMA_REGISTRY_URL, url);
    c.putIfAbsent(SchemaRegistryClients.RETRY_BACKOFF_MS, 10L);
    return SchemaRegistryClients.create(c);
  }

  @Test
  void closedPortGivesUnavailableNamingTheUrlAfterTheRetries() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    SchemaRegistryClient client = client(url, Map.of(SchemaRegistryClients.RETRIES, 2));

    assertThatThrownBy(client::subjects)
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .isInstanceOf(org.apache.kafka.common.errors.RetriableException.class)
        .hasMessageContaining(url + "/subjects")
        .hasMessageContaining("after 3 attempt(s)")
        .hasMessageContaining("retries=2")
        .hasMessageContaining("Check that the registry is running")
        .hasMessageContaining("schema.registry.url");
  }

  @Test
  void slowAnswerTimesOutAndIsRetried() throws IOException {
    script.add(new Answer(200, "[]"));
    delayMs = 1_000;
    String url = startStub();
    SchemaRegistryClient client =
        client(
            url,
            Map.of(
                SchemaRegistryClients.RETRIES, 1, SchemaRegistryClients.REQUEST_TIMEOUT_MS, 200));
    assertThatThrownBy(client::subjects)
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .hasMessageContaining("after 2 attempt(s)")
        .hasMessageContaining("HttpTimeoutException")
        .hasMessageContaining(url);
  }

  @Test
  void retriesAfter5xxThenSucceeds() throws IOException {
    script.addAll(
        List.of(
            new Answer(500, "{\"error_code\":50001,\"message\":\"store down\"}"),
            new Answer(503, "Service Unavailable"),
            new Answer(200, "[\"a-value\",\"b-value\"]")));
    SchemaRegistryClient client = client(startStub(), Map.of(SchemaRegistryClients.RETRIES, 3));

    assertThat(client.subjects()).containsExactly("a-value", "b-value");
    assertThat(calls.get()).isEqualTo(3);
  }

  @Test
  void fiveHundredsBeyondTheRetriesGiveUnavailable() throws IOException {
    script.add(new Answer(500, "{\"error_code\":50001,\"message\":\"store down\"}"));
    String url = startStub();
    SchemaRegistryClient client = client(url, Map.of(SchemaRegistryClients.RETRIES, 1));

    assertThatThrownBy(() -> client.versions("s"))
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .hasMessageContaining("after 2 attempt(s)")
        .hasMessageContaining("HTTP 500")
        .hasMessageContaining("store down")
        .hasMessageContaining(url);
    assertThat(calls.get()).isEqualTo(2);
  }

  @Test
  void secondUrlIsTriedWhenTheFirstIsDown() throws IOException {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    script.add(new Answer(200, "[1,2]"));
    String live = startStub();
    SchemaRegistryClient client =
        client(
            "http://127.0.0.1:" + deadPort + "," + live, Map.of(SchemaRegistryClients.RETRIES, 0));

    assertThat(client.versions("s")).containsExactly(1, 2);
    assertThat(paths).containsExactly("GET /subjects/s/versions");
  }

  @Test
  void unauthorizedIsAnAuthenticationException() throws IOException {
    script.add(new Answer(401, "{\"error_code\":401,\"message\":\"Unauthorized\"}"));
    SchemaRegistryClient client = client(startStub(), Map.of());

    assertThatThrownBy(() -> client.schemaById(1))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining("basic.auth.user.info");
    assertThat(calls.get()).as("401 is not retried").isEqualTo(1);
  }

  @Test
  void forbiddenIsAnAuthorizationException() throws IOException {
    script.add(new Answer(403, "{\"error_code\":403,\"message\":\"Forbidden\"}"));
    SchemaRegistryClient client = client(startStub(), Map.of());
    assertThatThrownBy(() -> client.schemaById(1)).isInstanceOf(AuthorizationException.class);
  }

  @Test
  void registryErrorsCarryTheirCode() throws IOException {
    script.add(new Answer(404, "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}"));
    SchemaRegistryClient client = client(startStub(), Map.of());

    assertThatThrownBy(() -> client.schemaById(7))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(40403);
              assertThat(e.httpStatus()).isEqualTo(404);
            })
        .hasMessageContaining("Schema 7 not found");
  }

  @Test
  void basicAuthFromUserInfoIsSent() throws IOException {
    script.add(new Answer(200, "[]"));
    SchemaRegistryClient client =
        client(
            startStub(),
            Map.of(
                SchemaRegistryClients.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO",
                SchemaRegistryClients.BASIC_AUTH_USER_INFO, "alice:s3cret"));
    client.subjects();
    assertThat(authHeaders).containsExactly("Basic YWxpY2U6czNjcmV0"); // base64("alice:s3cret")
  }

  @Test
  void basicAuthFromTheUrlIsSentAndStrippedFromTheUrl() throws IOException {
    script.add(new Answer(200, "[]"));
    String url = startStub().replace("http://", "http://bob:pw@");
    client(url, Map.of()).subjects();
    assertThat(authHeaders).containsExactly("Basic Ym9iOnB3"); // base64("bob:pw")
    assertThat(paths).containsExactly("GET /subjects");
  }

  @Test
  void bearerTokenIsSent() throws IOException {
    script.add(new Answer(200, "[]"));
    client(startStub(), Map.of(SchemaRegistryClients.BEARER_AUTH_TOKEN, "tok-123")).subjects();
    assertThat(authHeaders).containsExactly("Bearer tok-123");
  }

  @Test
  void olderRegistriesAnsweringOnlyTheIdGetTheVersionFromALookup() throws IOException {
    String schema = "{\"type\":\"string\"}";
    script.addAll(
        List.of(
            new Answer(200, "{\"id\":42}"),
            new Answer(
                200,
                "{\"subject\":\"s\",\"id\":42,\"version\":3,\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}")));
    SchemaRegistryClient client = client(startStub(), Map.of());
    RegisteredSchema r = client.register("s", new org.apache.avro.Schema.Parser().parse(schema));
    assertThat(r.id()).isEqualTo(42);
    assertThat(r.version()).isEqualTo(3);
    assertThat(r.guid()).isNull();
    assertThat(paths).containsExactly("POST /subjects/s/versions", "POST /subjects/s");
  }
}
