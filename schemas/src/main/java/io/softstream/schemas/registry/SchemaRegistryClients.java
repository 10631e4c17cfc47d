package io.softstream.schemas.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * Creates registry clients from serde-style configuration.
 *
 * <pre>{@code
 * SchemaRegistryClient client = SchemaRegistryClients.create(Map.of(
 *     SchemaRegistryClients.SCHEMA_REGISTRY_URL, "http://registry-1:8081,http://registry-2:8081",
 *     SchemaRegistryClients.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO",
 *     SchemaRegistryClients.BASIC_AUTH_USER_INFO, "user:secret"));
 * }</pre>
 *
 * <p>A {@code mock://scope} URL gives the {@link InMemorySchemaRegistryClient} of that scope (no
 * HTTP). Either kind comes wrapped in a {@link CachingSchemaRegistryClient}.
 */
public final class SchemaRegistryClients {
  /**
   * Comma-separated registry URLs, tried in turn; {@code mock://scope} for an in-memory registry.
   */
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";

  /** {@code URL} (credentials embedded as {@code http://user:pass@host}) or {@code USER_INFO}. */
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = "basic.auth.credentials.source";

  /** {@code user:password} for basic auth when the source is {@code USER_INFO}. */
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";

  /** A bearer token sent as {@code Authorization: Bearer <token>}. */
  public static final String BEARER_AUTH_TOKEN = "bearer.auth.token";

  /** Connect timeout per attempt, ms. */
  public static final String CONNECT_TIMEOUT_MS = "schema.registry.connect.timeout.ms";

  /** Request timeout per attempt, ms. */
  public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";

  /** Retries after the first attempt on connection errors, timeouts and 5xx/408. */
  public static final String RETRIES = "schema.registry.retries";

  /** Initial backoff between retry rounds, doubled each round up to 5 s. */
  public static final String RETRY_BACKOFF_MS = "schema.registry.retry.backoff.ms";

  /** Truststore for {@code https://} registries with a private certificate (Confluent's key). */
  public static final String SSL_TRUSTSTORE_LOCATION = "schema.registry.ssl.truststore.location";

  public static final String SSL_TRUSTSTORE_PASSWORD = "schema.registry.ssl.truststore.password";
  public static final String SSL_TRUSTSTORE_TYPE = "schema.registry.ssl.truststore.type";

  /** Entries per cache of the {@link CachingSchemaRegistryClient}. */
  public static final String CACHE_CAPACITY = "schema.registry.cache.capacity";

  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              SCHEMA_REGISTRY_URL,
              Type.LIST,
              ConfigDef.NO_DEFAULT_VALUE,
              Importance.HIGH,
              "Comma-separated schema registry URLs, tried in turn; mock://scope for an in-memory one")
          .define(
              BASIC_AUTH_CREDENTIALS_SOURCE,
              Type.STRING,
              "URL",
              ConfigDef.CaseInsensitiveValidString.in("URL", "USER_INFO"),
              Importance.MEDIUM,
              "Where basic-auth credentials come from: URL (user info in the URL) or USER_INFO")
          .define(
              BASIC_AUTH_USER_INFO,
              Type.PASSWORD,
              null,
              Importance.MEDIUM,
              "user:password for basic auth when " + BASIC_AUTH_CREDENTIALS_SOURCE + "=USER_INFO")
          .define(
              BEARER_AUTH_TOKEN,
              Type.PASSWORD,
              null,
              Importance.MEDIUM,
              "Bearer token sent as Authorization: Bearer <token>")
          .define(
              CONNECT_TIMEOUT_MS,
              Type.INT,
              10_000,
              ConfigDef.Range.atLeast(1),
              Importance.LOW,
              "Connect timeout per attempt, ms")
          .define(
              REQUEST_TIMEOUT_MS,
              Type.INT,
              30_000,
              ConfigDef.Range.atLeast(1),
              Importance.LOW,
              "Request timeout per attempt, ms")
          .define(
              RETRIES,
              Type.INT,
              3,
              ConfigDef.Range.atLeast(0),
              Importance.LOW,
              "Retries after the first attempt on connection errors, timeouts, 408 and 5xx")
          .define(
              RETRY_BACKOFF_MS,
              Type.LONG,
              100L,
              ConfigDef.Range.atLeast(0),
              Importance.LOW,
              "Initial backoff between retry rounds, ms; doubles each round, at most 5000")
          .define(
              SSL_TRUSTSTORE_LOCATION,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Truststore file for https:// registry URLs; empty = the JDK's default trust")
          .define(
              SSL_TRUSTSTORE_PASSWORD,
              Type.PASSWORD,
              null,
              Importance.MEDIUM,
              "Password of the registry truststore")
          .define(
              SSL_TRUSTSTORE_TYPE,
              Type.STRING,
              "JKS",
              Importance.LOW,
              "Type of the registry truststore: JKS or PKCS12 (the JDK reads either as JKS)")
          .define(
              CACHE_CAPACITY,
              Type.INT,
              1000,
              ConfigDef.Range.atLeast(1),
              Importance.LOW,
              "Entries per cache of the caching client");

  private SchemaRegistryClients() {}

  /** The client settings, for documentation ({@code configDef().toRst()}). */
  public static ConfigDef configDef() {
    return new ConfigDef(CONFIG);
  }

  /**
   * Creates a {@link CachingSchemaRegistryClient} over a {@link RestSchemaRegistryClient}, or over
   * the {@link InMemorySchemaRegistryClient} of the scope for {@code mock://scope}.
   *
   * @throws ConfigException if {@value #SCHEMA_REGISTRY_URL} is missing or a setting is invalid
   */
  public static SchemaRegistryClient create(Map<String, ?> configs) {
    Object url = configs.get(SCHEMA_REGISTRY_URL);
    if (url == null || url.toString().isBlank()) {
      throw new ConfigException(
          "Missing required configuration \""
              + SCHEMA_REGISTRY_URL
              + "\": the serde cannot find the"
              + " schema registry. Set it to e.g. http://localhost:8081 (several URLs comma-separated),"
              + " or mock://<scope> for an in-memory registry in tests");
    }
    AbstractConfig c = new AbstractConfig(CONFIG, configs, false);
    List<String> urls = c.getList(SCHEMA_REGISTRY_URL);
    int capacity = c.getInt(CACHE_CAPACITY);
    List<String> mocks = urls.stream().filter(u -> u.startsWith("mock://")).toList();
    if (!mocks.isEmpty()) {
      if (urls.size() > 1) {
        throw new ConfigException(
            SCHEMA_REGISTRY_URL, urls, "a mock:// URL cannot be combined with other URLs");
      }
      String scope = mocks.get(0).substring("mock://".length());
      return new CachingSchemaRegistryClient(
          InMemorySchemaRegistryClient.forScope(scope), capacity);
    }
    String authorization = null;
    Password bearer = c.getPassword(BEARER_AUTH_TOKEN);
    Password userInfo = c.getPassword(BASIC_AUTH_USER_INFO);
    if (bearer != null) {
      authorization = RestSchemaRegistryClient.bearer(bearer.value());
    } else if ("USER_INFO".equalsIgnoreCase(c.getString(BASIC_AUTH_CREDENTIALS_SOURCE))) {
      if (userInfo == null || !userInfo.value().contains(":")) {
        throw new ConfigException(
            BASIC_AUTH_USER_INFO,
            "[hidden]",
            BASIC_AUTH_CREDENTIALS_SOURCE
                + "=USER_INFO needs "
                + BASIC_AUTH_USER_INFO
                + "=user:password");
      }
      authorization = RestSchemaRegistryClient.basic(userInfo.value());
    }
    List<URI> uris;
    try {
      uris = urls.stream().map(URI::create).toList();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(SCHEMA_REGISTRY_URL, urls, "not a valid URL: " + e.getMessage());
    }
    RestSchemaRegistryClient.Settings settings =
        new RestSchemaRegistryClient.Settings(
            uris,
            Duration.ofMillis(c.getInt(CONNECT_TIMEOUT_MS)),
            Duration.ofMillis(c.getInt(REQUEST_TIMEOUT_MS)),
            c.getInt(RETRIES),
            Duration.ofMillis(c.getLong(RETRY_BACKOFF_MS)),
            authorization);
    return new CachingSchemaRegistryClient(
        new RestSchemaRegistryClient(settings, sslContext(c)), capacity);
  }

  /** The TLS context trusting {@value #SSL_TRUSTSTORE_LOCATION}, or null when none is set. */
  private static SSLContext sslContext(AbstractConfig c) {
    String location = c.getString(SSL_TRUSTSTORE_LOCATION);
    if (location == null || location.isBlank()) {
      return null;
    }
    Password pw = c.getPassword(SSL_TRUSTSTORE_PASSWORD);
    try (InputStream in = Files.newInputStream(Path.of(location))) {
      KeyStore ts = KeyStore.getInstance(c.getString(SSL_TRUSTSTORE_TYPE));
      ts.load(in, pw == null ? null : pw.value().toCharArray());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ts);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException(
          SSL_TRUSTSTORE_LOCATION, location, "cannot be read as a truststore: " + e.getMessage());
    }
  }
}
