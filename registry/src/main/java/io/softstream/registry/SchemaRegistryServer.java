package io.softstream.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.CompatibilityResult;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryException;
import io.softstream.schemas.registry.core.RegistryStore;
import io.softstream.schemas.registry.core.SchemaRegistryCore;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Confluent-compatible schema registry over HTTP (Avro only), keeping its state in a compacted
 * Kafka topic through {@link KafkaRegistryStore}.
 *
 * <pre>{@code
 * try (SchemaRegistryServer server = SchemaRegistryServer.builder()
 *     .setBootstrapServers("localhost:9092")
 *     .optPort(8081)
 *     .build()
 *     .start()) {
 *   SchemaRegistryClient client = SchemaRegistryClients.create(
 *       Map.of(SchemaRegistryClients.SCHEMA_REGISTRY_URL, server.url()));
 *   ...
 * }
 * }</pre>
 *
 * <p>Endpoints: {@code / , /subjects[/{s}[/versions[/{v}[/schema]]]],
 * /schemas/ids/{id}[/schema|/versions |/subjects], /schemas/guids/{guid}[/ids], /schemas/types,
 * /compatibility/subjects/{s}/versions[/{v}], /config[/{s}], /mode[/{s}]}, with Confluent's JSON
 * shapes and error codes. Single writer: run one server per topic (the topic is read once at start
 * and not followed afterwards). {@link Builder#optTls} serves HTTPS and {@link
 * Builder#optBasicAuth} answers only authenticated clients (401 otherwise).
 */
public final class SchemaRegistryServer implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(SchemaRegistryServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The media type of every response. */
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

  private static final Set<String> ACCEPTED_CONTENT_TYPES =
      Set.of(CONTENT_TYPE, "application/vnd.schemaregistry+json", "application/json");

  private final Builder config;
  private HttpServer http;
  private ExecutorService executor;
  private RegistryStore store;
  private SchemaRegistryCore core;

  private SchemaRegistryServer(Builder config) {
    this.config = config;
  }

  /** A builder; {@link Builder#setBootstrapServers} (or {@link Builder#optStore}) is required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Connects to the store, replays it, and starts listening.
   *
   * @return this, for try-with-resources
   * @throws IOException if the port cannot be bound
   */
  public synchronized SchemaRegistryServer start() throws IOException {
    if (http != null) {
      throw new IllegalStateException("Schema registry server already started at " + url());
    }
    store =
        config.store != null
            ? config.store
            : new KafkaRegistryStore(
                config.bootstrapServers,
                config.topic,
                config.replicationFactor,
                config.kafkaConfig,
                config.storeTimeout);
    try {
      core = new SchemaRegistryCore(store);
      InetSocketAddress address = new InetSocketAddress(config.host, config.port);
      if (config.tls != null) {
        HttpsServer https = HttpsServer.create(address, 0);
        https.setHttpsConfigurator(new HttpsConfigurator(config.tls));
        http = https;
      } else {
        http = HttpServer.create(address, 0);
      }
    } catch (RuntimeException | IOException e) {
      store.close();
      throw e;
    }
    AtomicInteger n = new AtomicInteger();
    executor =
        Executors.newFixedThreadPool(
            config.threads,
            r -> {
              Thread t = new Thread(r, "schema-registry-http-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(executor);
    HttpContext root = http.createContext("/", this::handle);
    if (config.users != null) {
      root.setAuthenticator(new Users(config.users));
    }
    http.start();
    log.info(
        "Schema registry listening at {} (store: {})",
        url(),
        config.store != null
            ? "custom"
            : "topic '" + config.topic + "' on " + config.bootstrapServers);
    return this;
  }

  /** The base URL, e.g. {@code http://127.0.0.1:38211}; the real port when started with port 0. */
  public String url() {
    if (http == null) {
      throw new IllegalStateException("Schema registry server not started; call start() first");
    }
    return (config.tls != null ? "https://" : "http://")
        + hostForUrl(config.host)
        + ":"
        + http.getAddress().getPort();
  }

  /** The registry state behind this server (for embedding and tests). */
  public SchemaRegistryCore core() {
    return core;
  }

  @Override
  public synchronized void close() {
    if (http != null) {
      http.stop(0);
      executor.shutdownNow();
      http = null;
    }
    if (store != null && config.store == null) {
      store.close();
    }
    store = null;
  }

  private static String hostForUrl(String host) {
    if (host.equals("0.0.0.0")) {
      return "127.0.0.1";
    }
    return host.contains(":") ? "[" + host + "]" : host;
  }

  /**
   * HTTP basic auth against a fixed user table: anything else gets 401 before any handler runs.
   * Passwords are compared in constant time and never logged.
   */
  private static final class Users extends BasicAuthenticator {
    private final Map<String, byte[]> passwords = new HashMap<>();

    Users(Map<String, String> users) {
      super("softstream-schema-registry");
      users.forEach((u, pw) -> passwords.put(u, pw.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public boolean checkCredentials(String user, String password) {
      byte[] expected = passwords.get(user);
      return expected != null
          && java.security.MessageDigest.isEqual(
              expected, password.getBytes(StandardCharsets.UTF_8));
    }
  }

  // ---------------------------------------------------------------- HTTP handling

  private record Response(int status, Object body) {}

  private void handle(HttpExchange ex) throws IOException {
    Response response;
    try {
      response = route(ex);
    } catch (SchemaRegistryException e) {
      response = error(e.httpStatus(), e.errorCode(), plainMessage(e));
    } catch (BadRequest e) {
      response = error(e.status, e.code, e.getMessage());
    } catch (RuntimeException e) {
      log.error("Schema registry failed on {} {}", ex.getRequestMethod(), ex.getRequestURI(), e);
      response = error(500, 500, "Internal server error: " + e);
    }
    byte[] bytes =
        response.body instanceof String s
            ? s.getBytes(StandardCharsets.UTF_8)
            : JSON.writeValueAsBytes(response.body);
    ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
    ex.sendResponseHeaders(response.status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** The exception's message without the " (HTTP s, error code c)" suffix the exception adds. */
  private static String plainMessage(SchemaRegistryException e) {
    String suffix = " (HTTP " + e.httpStatus() + ", error code " + e.errorCode() + ")";
    String m = e.getMessage();
    return m.endsWith(suffix) ? m.substring(0, m.length() - suffix.length()) : m;
  }

  private static Response error(int status, int code, String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("error_code", code).put("message", message);
    return new Response(status, n);
  }

  private static final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final int code;

    BadRequest(int status, int code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  private Response route(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    URI uri = ex.getRequestURI();
    List<String> p = new ArrayList<>();
    for (String seg : Objects.requireNonNullElse(uri.getRawPath(), "/").split("/")) {
      if (!seg.isEmpty()) {
        p.add(URLDecoder.decode(seg.replace("+", "%2B"), StandardCharsets.UTF_8));
      }
    }
    Map<String, String> q = query(uri.getRawQuery());
    boolean deleted = Boolean.parseBoolean(q.get("deleted"));
    int n = p.size();
    String first = n > 0 ? p.get(0) : "";

    if (n == 0) {
      if (method.equals("GET") || method.equals("POST")) {
        return ok(JSON.createObjectNode());
      }
    } else if (first.equals("subjects")) {
      if (n == 1 && method.equals("GET")) {
        return ok(core.subjects(deleted));
      }
      String subject = n > 1 ? p.get(1) : null;
      if (n == 2 && method.equals("POST")) {
        JsonNode body = body(ex);
        return ok(versionJson(core.lookup(subject, text(body, "schema"), schemaType(body))));
      }
      if (n == 2 && method.equals("DELETE")) {
        return ok(core.deleteSubject(subject));
      }
      if (n == 3 && p.get(2).equals("versions") && method.equals("GET")) {
        return ok(core.versions(subject, deleted));
      }
      if (n == 3 && p.get(2).equals("versions") && method.equals("POST")) {
        JsonNode body = body(ex);
        RegisteredSchema r = core.register(subject, text(body, "schema"), schemaType(body));
        ObjectNode out = JSON.createObjectNode();
        out.put("id", r.id()).put("version", r.version()).put("guid", r.guid().toString());
        return ok(out);
      }
      if ((n == 4 || (n == 5 && p.get(4).equals("schema")))
          && p.get(2).equals("versions")
          && method.equals("GET")) {
        RegisteredSchema r = core.version(subject, version(p.get(3)), deleted);
        return ok(n == 4 ? versionJson(r) : r.schema().toString());
      }
    } else if (first.equals("schemas")) {
      if (n == 2 && p.get(1).equals("types") && method.equals("GET")) {
        return ok(List.of("AVRO"));
      }
      if (n >= 3 && p.get(1).equals("ids") && method.equals("GET")) {
        int id = schemaId(p.get(2));
        if (n == 3) {
          ObjectNode out = JSON.createObjectNode();
          out.put("schema", core.schemaById(id).toString());
          if (Boolean.parseBoolean(q.get("fetchMaxId"))) {
            out.put("maxId", core.maxId());
          }
          return ok(out);
        }
        if (n == 4 && p.get(3).equals("schema")) {
          return ok(core.schemaById(id).toString());
        }
        if (n == 4 && p.get(3).equals("versions")) {
          ArrayNode out = JSON.createArrayNode();
          for (SchemaRegistryCore.SubjectVersion sv : core.subjectVersionsForId(id, deleted)) {
            out.addObject().put("subject", sv.subject()).put("version", sv.version());
          }
          return ok(out);
        }
        if (n == 4 && p.get(3).equals("subjects")) {
          return ok(
              core.subjectVersionsForId(id, deleted).stream()
                  .map(SchemaRegistryCore.SubjectVersion::subject)
                  .distinct()
                  .toList());
        }
      }
      if (n >= 3 && p.get(1).equals("guids") && method.equals("GET")) {
        UUID guid = guid(p.get(2));
        if (n == 3) {
          ObjectNode out = JSON.createObjectNode();
          out.put("schema", core.schemaByGuid(guid).toString());
          return ok(out);
        }
        if (n == 4 && p.get(3).equals("ids")) {
          core.schemaByGuid(guid);
          return ok(List.of(core.idForGuid(guid).orElseThrow()));
        }
      }
    } else if (first.equals("compatibility")) {
      if ((n == 4 || n == 5)
          && p.get(1).equals("subjects")
          && p.get(3).equals("versions")
          && method.equals("POST")) {
        JsonNode body = body(ex);
        Integer v = n == 5 ? version(p.get(4)) : null;
        CompatibilityResult r =
            core.testCompatibility(p.get(2), text(body, "schema"), schemaType(body), v);
        ObjectNode out = JSON.createObjectNode();
        out.put("is_compatible", r.compatible());
        if (Boolean.parseBoolean(q.get("verbose"))) {
          ArrayNode messages = out.putArray("messages");
          r.messages().forEach(messages::add);
        }
        return ok(out);
      }
    } else if (first.equals("config") && n <= 2) {
      String subject = n == 2 ? p.get(1) : null;
      switch (method) {
        case "GET" -> {
          CompatibilityLevel level;
          if (subject == null) {
            level = core.compatibility(null);
          } else {
            level =
                core.subjectCompatibility(subject)
                    .orElseGet(
                        () -> {
                          if (Boolean.parseBoolean(q.get("defaultToGlobal"))) {
                            return core.compatibility(null);
                          }
                          throw SchemaRegistryCore.compatibilityNotConfigured(subject);
                        });
          }
          return ok(JSON.createObjectNode().put("compatibilityLevel", level.name()));
        }
        case "PUT" -> {
          CompatibilityLevel level;
          String requested = text(body(ex), "compatibility");
          try {
            level = CompatibilityLevel.parse(requested);
          } catch (IllegalArgumentException e) {
            throw new SchemaRegistryException(
                422, SchemaRegistryException.INVALID_COMPATIBILITY_LEVEL, e.getMessage());
          }
          core.setCompatibility(subject, level);
          return ok(JSON.createObjectNode().put("compatibility", level.name()));
        }
        case "DELETE" -> {
          if (subject == null) {
            CompatibilityLevel old = core.compatibility(null);
            core.setCompatibility(null, CompatibilityLevel.BACKWARD);
            return ok(JSON.createObjectNode().put("compatibilityLevel", old.name()));
          }
          return ok(
              JSON.createObjectNode()
                  .put("compatibilityLevel", core.deleteSubjectCompatibility(subject).name()));
        }
        default -> {}
      }
    } else if (first.equals("mode") && n <= 2) {
      if (method.equals("GET")) {
        return ok(JSON.createObjectNode().put("mode", "READWRITE"));
      }
      if (method.equals("PUT")) {
        String mode = text(body(ex), "mode");
        if (!"READWRITE".equals(mode)) {
          throw new BadRequest(422, 42205, "Only mode READWRITE is supported by this registry");
        }
        return ok(JSON.createObjectNode().put("mode", "READWRITE"));
      }
    }
    throw new BadRequest(
        404, 404, "HTTP " + method + " " + uri.getPath() + " is not an endpoint of this registry");
  }

  private static Response ok(Object body) {
    return new Response(200, body);
  }

  private static ObjectNode versionJson(RegisteredSchema r) {
    ObjectNode out = JSON.createObjectNode();
    out.put("subject", r.subject())
        .put("version", r.version())
        .put("id", r.id())
        .put("guid", r.guid() == null ? null : r.guid().toString())
        .put("schema", r.schema().toString());
    return out;
  }

  private static JsonNode body(HttpExchange ex) throws IOException {
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type != null) {
      String bare = type.split(";")[0].trim().toLowerCase(java.util.Locale.ROOT);
      if (!ACCEPTED_CONTENT_TYPES.contains(bare)) {
        throw new BadRequest(
            415,
            415,
            "Unsupported Content-Type '" + type + "'; use one of " + ACCEPTED_CONTENT_TYPES);
      }
    }
    try (InputStream in = ex.getRequestBody()) {
      JsonNode node = JSON.readTree(in);
      if (node == null || !node.isObject()) {
        throw new BadRequest(400, 400, "The request body must be a JSON object");
      }
      return node;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new BadRequest(400, 400, "Unparseable JSON body: " + e.getOriginalMessage());
    }
  }

  private static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String schemaType(JsonNode body) {
    if (body.hasNonNull("references") && body.get("references").size() > 0) {
      throw new SchemaRegistryException(
          422,
          SchemaRegistryException.INVALID_SCHEMA,
          "Schema references are not supported by this registry");
    }
    return text(body, "schemaType");
  }

  private static int version(String s) {
    if (s.equals("latest")) {
      return -1;
    }
    try {
      int v = Integer.parseInt(s);
      if (v == 0 || v < -1) {
        throw SchemaRegistryCore.invalidVersion(s);
      }
      return v;
    } catch (NumberFormatException e) {
      throw SchemaRegistryCore.invalidVersion(s);
    }
  }

  private static int schemaId(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new SchemaRegistryException(
          404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + s + " not found");
    }
  }

  private static UUID guid(String s) {
    try {
      return UUID.fromString(s);
    } catch (IllegalArgumentException e) {
      throw new SchemaRegistryException(
          404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema with GUID " + s + " not found");
    }
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new HashMap<>();
    if (raw == null) {
      return q;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      q.put(
          URLDecoder.decode(k, StandardCharsets.UTF_8),
          URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return q;
  }

  // ---------------------------------------------------------------- builder

  /** Settings of a {@link SchemaRegistryServer}; {@code setX} required, {@code optX} optional. */
  public static final class Builder {
    private String bootstrapServers;
    private String topic = "_schemas";
    private short replicationFactor = 1;
    private String host = "127.0.0.1";
    private int port = 8081;
    private int threads = 4;
    private Duration storeTimeout = Duration.ofSeconds(30);
    private Map<String, Object> kafkaConfig = Map.of();
    private RegistryStore store;
    private SSLContext tls;
    private Map<String, String> users;

    private Builder() {}

    /** Serves HTTPS with {@code context}'s certificate instead of plain HTTP. */
    public Builder optTls(SSLContext context) {
      this.tls = context;
      return this;
    }

    /**
     * Answers only clients sending HTTP basic auth with one of these {@code user -> password}
     * pairs; every other request gets 401.
     */
    public Builder optBasicAuth(Map<String, String> users) {
      this.users = Map.copyOf(users);
      return this;
    }

    /** The Kafka cluster holding the schema topic (required unless {@link #optStore} is used). */
    public Builder setBootstrapServers(String bootstrapServers) {
      this.bootstrapServers = bootstrapServers;
      return this;
    }

    /** The schema topic; default {@code _schemas}. */
    public Builder optTopic(String topic) {
      this.topic = topic;
      return this;
    }

    /** Replication factor used when the topic is created; default 1. */
    public Builder optReplicationFactor(int replicationFactor) {
      this.replicationFactor = (short) replicationFactor;
      return this;
    }

    /** The interface to listen on; default {@code 127.0.0.1}. */
    public Builder optHost(String host) {
      this.host = host;
      return this;
    }

    /** The port; default 8081, 0 picks a free port (see {@link SchemaRegistryServer#url()}). */
    public Builder optPort(int port) {
      this.port = port;
      return this;
    }

    /** HTTP worker threads; default 4. */
    public Builder optThreads(int threads) {
      this.threads = threads;
      return this;
    }

    /** How long a store write, the topic check or the start-up replay may take; default 30 s. */
    public Builder optStoreTimeout(Duration storeTimeout) {
      this.storeTimeout = storeTimeout;
      return this;
    }

    /**
     * Extra Kafka client settings (security, client.id...) for the store's admin/producer/consumer.
     */
    public Builder optKafkaConfig(Map<String, ?> kafkaConfig) {
      this.kafkaConfig = Map.copyOf(kafkaConfig);
      return this;
    }

    /** Uses {@code store} instead of a Kafka topic (e.g. {@link RegistryStore#inMemory()}). */
    public Builder optStore(RegistryStore store) {
      this.store = store;
      return this;
    }

    /** Checks the settings; the server starts with {@link SchemaRegistryServer#start()}. */
    public SchemaRegistryServer build() {
      if (store == null && (bootstrapServers == null || bootstrapServers.isBlank())) {
        throw new IllegalArgumentException(
            "You must specify the bootstrap servers of the Kafka cluster holding the schema topic"
                + " (setBootstrapServers), or a store (optStore)");
      }
      if (topic == null || topic.isBlank()) {
        throw new IllegalArgumentException("The schema topic name must not be empty");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("Port must be 0..65535, got " + port);
      }
      if (threads < 1) {
        throw new IllegalArgumentException("Threads must be at least 1, got " + threads);
      }
      if (replicationFactor < 1) {
        throw new IllegalArgumentException(
            "Replication factor must be at least 1, got " + replicationFactor);
      }
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(storeTimeout, "storeTimeout");
      return new SchemaRegistryServer(copy());
    }

    // the server keeps its own copy, so reusing the builder cannot change a built server
    private Builder copy() {
      Builder b = new Builder();
      b.bootstrapServers = bootstrapServers;
      b.topic = topic;
      b.replicationFactor = replicationFactor;
      b.host = host;
      b.port = port;
      b.threads = threads;
      b.storeTimeout = storeTimeout;
      b.kafkaConfig = kafkaConfig;
      b.store = store;
      b.tls = tls;
      b.users = users;
      return b;
    }
  }
}
