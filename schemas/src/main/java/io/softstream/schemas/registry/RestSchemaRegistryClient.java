package io.softstream.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SchemaRegistryClient} over the Confluent REST API, with {@link HttpClient}.
 *
 * <p>Each call tries the URLs in turn; a connection error, a timeout, 408 or 5xx moves on to the
 * next URL, and once all have failed the round is repeated after a backoff, {@code retries} times.
 * Then it throws {@link SchemaRegistryUnavailableException}. A registry error answer throws {@link
 * SchemaRegistryException}; 401 throws {@link AuthenticationException}, 403 {@link
 * AuthorizationException}. Usually created through {@link SchemaRegistryClients#create}.
 */
public final class RestSchemaRegistryClient implements SchemaRegistryClient {
  private static final Logger log = LoggerFactory.getLogger(RestSchemaRegistryClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String ACCEPT =
      "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  /**
   * Client settings.
   *
   * @param urls registry base URLs, tried in turn; user info in a URL ({@code http://u:p@host}) is
   *     sent as basic auth to that URL unless {@code authorization} is set
   * @param connectTimeout connect timeout per attempt
   * @param requestTimeout request timeout per attempt
   * @param retries retry rounds after the first
   * @param retryBackoff backoff before the first retry round, doubled each round (at most 5 s)
   * @param authorization the {@code Authorization} header value for every URL, or null
   */
  public record Settings(
      List<URI> urls,
      Duration connectTimeout,
      Duration requestTimeout,
      int retries,
      Duration retryBackoff,
      String authorization) {
    public Settings {
      urls = List.copyOf(urls);
      if (urls.isEmpty()) {
        throw new IllegalArgumentException("At least one schema registry URL is needed");
      }
      for (URI u : urls) {
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
          throw new IllegalArgumentException(
              "Schema registry URL '" + u + "' must start with http:// or https://");
        }
      }
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      Objects.requireNonNull(requestTimeout, "requestTimeout");
      Objects.requireNonNull(retryBackoff, "retryBackoff");
      if (retries < 0) {
        throw new IllegalArgumentException("retries must be >= 0, got " + retries);
      }
    }

    /**
     * Defaults (10 s connect, 30 s request, 3 retries, 100 ms backoff, no auth) for {@code urls}.
     */
    public static Settings of(String... urls) {
      return new Settings(
          java.util.Arrays.stream(urls).map(URI::create).toList(),
          Duration.ofSeconds(10),
          Duration.ofSeconds(30),
          3,
          Duration.ofMillis(100),
          null);
    }
  }

  private record Target(URI base, String authorization) {}

  private final Settings settings;
  private final List<Target> targets = new ArrayList<>();
  private final HttpClient http;

  /** A client for {@code settings}. */
  public RestSchemaRegistryClient(Settings settings) {
    this(settings, null);
  }

  /**
   * A client for {@code settings} whose {@code https://} connections trust {@code tls} (e.g. a
   * private CA's truststore); null for the JDK's default trust.
   */
  public RestSchemaRegistryClient(Settings settings, SSLContext tls) {
    this.settings = settings;
    for (URI u : settings.urls()) {
      String auth = settings.authorization();
      URI base = u;
      if (u.getRawUserInfo() != null) {
        if (auth == null) {
          auth = basic(URLDecoder.decode(u.getRawUserInfo(), StandardCharsets.UTF_8));
        }
        base =
            URI.create(
                u.getScheme()
                    + "://"
                    + u.getRawAuthority().substring(u.getRawAuthority().indexOf('@') + 1)
                    + (u.getRawPath() == null ? "" : u.getRawPath()));
      }
      String s = base.toString();
      targets.add(
          new Target(URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s), auth));
    }
    HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(settings.connectTimeout());
    if (tls != null) {
      hb.sslContext(tls);
    }
    this.http = hb.build();
  }

  /** The {@code Authorization} value for basic auth with {@code user:password}. */
  public static String basic(String userInfo) {
    return "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
  }

  /** The {@code Authorization} value for a bearer token. */
  public static String bearer(String token) {
    return "Bearer " + token;
  }

  // ---------------------------------------------------------------- API

  @Override
  public RegisteredSchema register(String subject, Schema schema) {
    JsonNode r = send("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(schema));
    int id = r.path("id").asInt();
    if (!r.has("version")) {
      // older registries answer only {"id": n}: the lookup gives the version
      RegisteredSchema found = lookup(subject, schema);
      return new RegisteredSchema(subject, id, found.version(), found.guid(), schema);
    }
    return new RegisteredSchema(subject, id, r.path("version").asInt(), guid(r), schema);
  }

  @Override
  public RegisteredSchema lookup(String subject, Schema schema) {
    return registered(send("POST", "/subjects/" + enc(subject), schemaBody(schema)), subject);
  }

  @Override
  public Schema schemaById(int id) {
    return parse(send("GET", "/schemas/ids/" + id, null).path("schema").asText());
  }

  @Override
  public Schema schemaByGuid(UUID guid) {
    return parse(send("GET", "/schemas/guids/" + guid, null).path("schema").asText());
  }

  @Override
  public Optional<Integer> idForGuid(UUID guid) {
    try {
      JsonNode ids = send("GET", "/schemas/guids/" + guid + "/ids", null);
      return ids.isArray() && ids.size() > 0 ? Optional.of(ids.get(0).asInt()) : Optional.empty();
    } catch (SchemaRegistryException e) {
      if (e.errorCode() == SchemaRegistryException.SCHEMA_NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public List<String> subjects() {
    List<String> out = new ArrayList<>();
    send("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
    out.sort(null);
    return out;
  }

  @Override
  public List<Integer> versions(String subject) {
    List<Integer> out = new ArrayList<>();
    send("GET", "/subjects/" + enc(subject) + "/versions", null).forEach(n -> out.add(n.asInt()));
    return out;
  }

  @Override
  public RegisteredSchema version(String subject, int version) {
    String v = version == LATEST_VERSION ? "latest" : String.valueOf(version);
    return registered(send("GET", "/subjects/" + enc(subject) + "/versions/" + v, null), subject);
  }

  @Override
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    JsonNode r;
    try {
      r =
          send(
              "POST",
              "/compatibility/subjects/" + enc(subject) + "/versions/latest?verbose=true",
              schemaBody(schema));
    } catch (SchemaRegistryException e) {
      // some registries answer 40401/40402 for a subject without versions, which is compatible
      if (e.errorCode() == SchemaRegistryException.SUBJECT_NOT_FOUND
          || e.errorCode() == SchemaRegistryException.VERSION_NOT_FOUND) {
        return new CompatibilityResult(true, List.of());
      }
      throw e;
    }
    List<String> messages = new ArrayList<>();
    r.path("messages").forEach(m -> messages.add(m.asText()));
    return new CompatibilityResult(r.path("is_compatible").asBoolean(), messages);
  }

  @Override
  public CompatibilityLevel compatibility(String subject) {
    String path = subject == null ? "/config" : "/config/" + enc(subject) + "?defaultToGlobal=true";
    return CompatibilityLevel.parse(send("GET", path, null).path("compatibilityLevel").asText());
  }

  @Override
  public void setCompatibility(String subject, CompatibilityLevel level) {
    ObjectNode body = JSON.createObjectNode().put("compatibility", level.name());
    send("PUT", subject == null ? "/config" : "/config/" + enc(subject), body);
  }

  @Override
  public List<Integer> deleteSubject(String subject) {
    List<Integer> out = new ArrayList<>();
    send("DELETE", "/subjects/" + enc(subject), null).forEach(n -> out.add(n.asInt()));
    return out;
  }

  @Override
  public String toString() {
    return "RestSchemaRegistryClient" + settings.urls();
  }

  // ---------------------------------------------------------------- HTTP

  private JsonNode send(String method, String pathAndQuery, JsonNode body) {
    String payload = body == null ? null : body.toString();
    int attempts = 0;
    String lastProblem = null;
    Exception lastCause = null;
    for (int round = 0; round <= settings.retries(); round++) {
      if (round > 0) {
        sleep(backoff(round));
      }
      for (Target t : targets) {
        attempts++;
        URI uri = URI.create(t.base() + pathAndQuery);
        HttpRequest.Builder b =
            HttpRequest.newBuilder(uri).timeout(settings.requestTimeout()).header("Accept", ACCEPT);
        if (t.authorization() != null) {
          b.header("Authorization", t.authorization());
        }
        if (payload != null) {
          b.header("Content-Type", CONTENT_TYPE);
          b.method(method, HttpRequest.BodyPublishers.ofString(payload, StandardCharsets.UTF_8));
        } else {
          b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> response;
        try {
          response =
              http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
          lastProblem = method + " " + uri + " failed: " + e;
          lastCause = e;
          log.debug("Schema registry attempt {}: {}", attempts, lastProblem);
          continue;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SchemaRegistryUnavailableException(
              "Interrupted while calling schema registry " + uri, e);
        }
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
          return readJson(response, uri);
        }
        if (status == 408 || status >= 500) {
          lastProblem =
              method + " " + uri + " answered HTTP " + status + ": " + snippet(response.body());
          lastCause = null;
          log.debug("Schema registry attempt {}: {}", attempts, lastProblem);
          continue;
        }
        throw failure(status, response.body(), method, uri);
      }
    }
    throw new SchemaRegistryUnavailableException(
        "Schema registry unavailable: "
            + method
            + " "
            + pathAndQuery
            + " failed after "
            + attempts
            + " attempt(s) over "
            + targets.stream().map(Target::base).toList()
            + " (retries="
            + settings.retries()
            + "); last: "
            + lastProblem
            + ". Check that the registry is running and"
            + " reachable at "
            + SchemaRegistryClients.SCHEMA_REGISTRY_URL
            + ", or raise "
            + SchemaRegistryClients.RETRIES
            + " / "
            + SchemaRegistryClients.REQUEST_TIMEOUT_MS,
        lastCause);
  }

  private RuntimeException failure(int status, String body, String method, URI uri) {
    if (status == 401) {
      return new AuthenticationException(
          "Schema registry "
              + uri
              + " rejected the credentials (HTTP 401) for "
              + method
              + "; check "
              + SchemaRegistryClients.BASIC_AUTH_USER_INFO
              + " / "
              + SchemaRegistryClients.BEARER_AUTH_TOKEN);
    }
    if (status == 403) {
      return new AuthorizationException(
          "Schema registry "
              + uri
              + " denied "
              + method
              + " (HTTP 403): the principal lacks permission");
    }
    int code = status;
    String message = snippet(body);
    try {
      JsonNode err = JSON.readTree(body);
      if (err != null && err.has("error_code")) {
        code = err.path("error_code").asInt(status);
        message = err.path("message").asText(message);
      }
    } catch (IOException notJson) {
      // keep the raw body as the message
    }
    return new SchemaRegistryException(status, code, message + " [" + method + " " + uri + "]");
  }

  private static JsonNode readJson(HttpResponse<String> response, URI uri) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new SchemaRegistryException(
          response.statusCode(),
          50005,
          "Unparseable JSON from schema registry " + uri + ": " + snippet(response.body()));
    }
  }

  private Duration backoff(int round) {
    long ms = settings.retryBackoff().toMillis() << Math.min(round - 1, 20);
    return Duration.ofMillis(Math.min(ms, MAX_BACKOFF.toMillis()));
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryUnavailableException("Interrupted while backing off", e);
    }
  }

  private static String snippet(String body) {
    if (body == null) {
      return "";
    }
    return body.length() > 300 ? body.substring(0, 300) + "..." : body;
  }

  private static ObjectNode schemaBody(Schema schema) {
    return JSON.createObjectNode().put("schema", schema.toString());
  }

  private static RegisteredSchema registered(JsonNode r, String subject) {
    return new RegisteredSchema(
        r.path("subject").asText(subject),
        r.path("id").asInt(),
        r.path("version").asInt(),
        guid(r),
        parse(r.path("schema").asText()));
  }

  private static UUID guid(JsonNode r) {
    JsonNode g = r.get("guid");
    return g == null || g.isNull() ? null : UUID.fromString(g.asText());
  }

  private static Schema parse(String text) {
    try {
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw new SchemaRegistryException(
          200,
          SchemaRegistryException.INVALID_SCHEMA,
          "The registry returned a schema this client cannot parse: " + e.getMessage());
    }
  }

  private static String enc(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
