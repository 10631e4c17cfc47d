package io.softstream.embedded;

import io.softstream.topology.TopicLayout;
import io.softstream.topology.access.AccessPolicy;
import io.softstream.topology.access.AccessPolicy.Role;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The secure mode of the embedded platform: SASL/SCRAM-SHA-512 over TLS for clients, ACLs from
 * {@link AccessPolicy}, and the material for both, generated on first start in {@code dir} and
 * reused on restart.
 *
 * <p>What it makes: a self-signed broker certificate (the JDK's {@code keytool}, EC P-256, SAN
 * {@code localhost} and {@code 127.0.0.1}) that clients trust through {@code truststore.p12}, and
 * one random password per {@link Role}. Listeners: {@code SASL_SSL} for clients on the broker port;
 * {@code INTERNAL} and {@code CONTROLLER}, TLS with client certificates required, so only the
 * holder of the broker's key (the broker itself and this platform's admin, principal {@code
 * softstream-broker}, the only super user) gets in there. {@code credentials.properties} holds the
 * secrets (owner-only permissions); nothing here logs them.
 */
public final class SecureSetup {
  /** The super user: the broker's own certificate's CN. */
  public static final String BROKER_PRINCIPAL = "softstream-broker";

  public static final String MECHANISM = "SCRAM-SHA-512";
  private static final String KEYSTORE = "broker.p12";
  private static final String TRUSTSTORE = "truststore.p12";
  private static final String CREDENTIALS = "credentials.properties";

  private final Path dir;
  private final Properties secrets;

  private SecureSetup(Path dir, Properties secrets) {
    this.dir = dir;
    this.secrets = secrets;
  }

  /**
   * The setup kept in {@code dir}: read back if present, else generated (certificate, truststore,
   * passwords, the internal listener's port).
   */
  public static SecureSetup prepare(Path dir) {
    Path abs = dir.toAbsolutePath();
    try {
      Files.createDirectories(abs);
      Path cred = abs.resolve(CREDENTIALS);
      Properties s = new Properties();
      if (Files.exists(cred) && Files.exists(abs.resolve(TRUSTSTORE))) {
        try (InputStream in = Files.newInputStream(cred)) {
          s.load(in);
        }
        return new SecureSetup(abs, s);
      }
      s.setProperty("keystore.password", randomSecret());
      s.setProperty("truststore.password", randomSecret());
      s.setProperty("internal.port", Integer.toString(freePort()));
      for (Role r : Role.values()) {
        s.setProperty("user." + r.principalName(), randomSecret());
      }
      SecureSetup setup = new SecureSetup(abs, s);
      setup.generateStores();
      Files.deleteIfExists(cred);
      Files.createFile(
          cred, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (OutputStream out = Files.newOutputStream(cred)) {
        s.store(out, "Secrets of the secure embedded platform: keep private");
      }
      return setup;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare the secure setup in " + abs, e);
    }
  }

  public Path dir() {
    return dir;
  }

  /** The port of the INTERNAL (mutual TLS) listener. */
  public int internalPort() {
    return Integer.parseInt(secrets.getProperty("internal.port"));
  }

  /** The password of {@code role}'s principal (SASL/SCRAM and the registry's basic auth). */
  public String password(Role role) {
    return secrets.getProperty("user." + role.principalName());
  }

  /** Every role's user name and password, for the registry's basic auth. */
  public Map<String, String> users() {
    Map<String, String> m = new LinkedHashMap<>();
    for (Role r : Role.values()) {
      m.put(r.principalName(), password(r));
    }
    return m;
  }

  /**
   * Broker settings: listeners, TLS stores, SCRAM, the authorizer. {@code ${port}} and {@code
   * ${controller.port}} are filled in by the broker once its ports are chosen.
   */
  public Map<String, String> brokerProperties() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put(
        "listeners",
        "SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:"
            + internalPort()
            + ",CONTROLLER://127.0.0.1:${controller.port}");
    c.put(
        "advertised.listeners",
        "SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:" + internalPort());
    c.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL");
    c.put("inter.broker.listener.name", "INTERNAL");
    c.put("sasl.enabled.mechanisms", MECHANISM);
    c.put(
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required;");
    c.put("listener.name.internal.ssl.client.auth", "required");
    c.put("listener.name.controller.ssl.client.auth", "required");
    c.putAll(keyStoreSettings(""));
    c.putAll(trustStoreSettings(""));
    c.put("ssl.principal.mapping.rules", "RULE:^CN=([^,]+)$/$1/,DEFAULT");
    c.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    c.put("super.users", "User:" + BROKER_PRINCIPAL);
    return c;
  }

  /** Admin settings for the platform itself: the INTERNAL listener as the super user. */
  public Map<String, Object> adminProperties() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("bootstrap.servers", "127.0.0.1:" + internalPort());
    p.put("security.protocol", "SSL");
    p.putAll(keyStoreSettings(""));
    p.putAll(trustStoreSettings(""));
    return p;
  }

  /**
   * Client settings of {@code role} for the SASL_SSL listener and the registry: SCRAM login,
   * truststore, and the registry's basic auth and truststore (Confluent's key names).
   */
  public Map<String, Object> clientProperties(Role role) {
    Map<String, Object> p = new LinkedHashMap<>(trustOnly());
    p.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + role.principalName()
            + "\" password=\""
            + password(role)
            + "\";");
    p.put("basic.auth.credentials.source", "USER_INFO");
    p.put("basic.auth.user.info", role.principalName() + ":" + password(role));
    return p;
  }

  /** Client settings without a principal: protocol and truststores only. */
  public Map<String, Object> trustOnly() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", MECHANISM);
    p.putAll(trustStoreSettings(""));
    p.putAll(trustStoreSettings("schema.registry."));
    return p;
  }

  /** The registry's TLS context: the broker's certificate and key. */
  public SSLContext serverSslContext() {
    try {
      KeyStore ks = load(dir.resolve(KEYSTORE), secrets.getProperty("keystore.password"));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, secrets.getProperty("keystore.password").toCharArray());
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("Could not load the broker keystore in " + dir, e);
    }
  }

  /** A TLS context that trusts the platform's certificate (for plain HTTP clients in tests). */
  public SSLContext clientSslContext() {
    try {
      KeyStore ts = load(dir.resolve(TRUSTSTORE), secrets.getProperty("truststore.password"));
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ts);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("Could not load the truststore in " + dir, e);
    }
  }

  /**
   * Creates (or updates) every role's SCRAM credential and installs the {@link AccessPolicy}
   * bindings of {@code layout}; any other binding of the roles' principals on the same resources
   * (this layout's topics, the declared groups and transactional ids), left by an older policy or
   * by hand, is removed. Then waits until the broker enforces exactly that. Idempotent.
   */
  public void grant(Admin admin, TopicLayout layout) {
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    for (Role r : Role.values()) {
      users.add(
          new UserScramCredentialUpsertion(
              r.principalName(),
              new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
              password(r)));
    }
    List<AclBinding> acls = AccessPolicy.all(layout);
    try {
      admin.alterUserScramCredentials(users).all().get(30, TimeUnit.SECONDS);
      admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
      Set<String> principals =
          Stream.of(Role.values()).map(Role::principal).collect(Collectors.toSet());
      Set<ResourcePattern> ours =
          acls.stream().map(AclBinding::pattern).collect(Collectors.toSet());
      layout.all().stream()
          .map(t -> new ResourcePattern(ResourceType.TOPIC, t.name(), PatternType.LITERAL))
          .forEach(ours::add);
      List<AclBindingFilter> stray =
          admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS).stream()
              .filter(b -> principals.contains(b.entry().principal()))
              .filter(b -> ours.contains(b.pattern()) && !acls.contains(b))
              .map(AclBinding::toFilter)
              .toList();
      if (!stray.isEmpty()) {
        admin.deleteAcls(stray).all().get(30, TimeUnit.SECONDS);
      }
      // Both go through the controller; wait until this broker's metadata has them.
      Set<String> names =
          users.stream().map(UserScramCredentialAlteration::user).collect(Collectors.toSet());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        boolean usersKnown =
            admin
                .describeUserScramCredentials()
                .all()
                .get(10, TimeUnit.SECONDS)
                .keySet()
                .containsAll(names);
        Collection<AclBinding> now =
            admin.describeAcls(AclBindingFilter.ANY).values().get(10, TimeUnit.SECONDS);
        boolean aclsKnown =
            now.containsAll(acls)
                && stray.stream().noneMatch(f -> now.stream().anyMatch(f::matches));
        if (usersKnown && aclsKnown) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "The broker did not report the SCRAM users and ACLs within 30 s");
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while granting access", e);
    } catch (Exception e) {
      throw new IllegalStateException("Could not install SCRAM users and ACLs: " + e, e);
    }
  }

  /**
   * Writes one client properties file per role ({@code clients/<principal>.properties}, owner-only)
   * with {@code bootstrap.servers} and {@code schema.registry.url}; returns the files.
   */
  public Map<Role, Path> writeClientFiles(String bootstrapServers, String registryUrl) {
    Map<Role, Path> files = new LinkedHashMap<>();
    try {
      Path d = Files.createDirectories(dir.resolve("clients"));
      for (Role r : Role.values()) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("schema.registry.url", registryUrl);
        clientProperties(r).forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        Path f = d.resolve(r.principalName() + ".properties");
        Files.deleteIfExists(f);
        Files.createFile(
            f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(f)) {
          p.store(out, "Client settings of principal " + r.principalName());
        }
        files.put(r, f);
      }
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write the client settings in " + dir, e);
    }
  }

  private Map<String, String> keyStoreSettings(String prefix) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(prefix + "ssl.keystore.location", dir.resolve(KEYSTORE).toString());
    m.put(prefix + "ssl.keystore.password", secrets.getProperty("keystore.password"));
    m.put(prefix + "ssl.key.password", secrets.getProperty("keystore.password"));
    m.put(prefix + "ssl.keystore.type", "PKCS12");
    return m;
  }

  private Map<String, String> trustStoreSettings(String prefix) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(prefix + "ssl.truststore.location", dir.resolve(TRUSTSTORE).toString());
    m.put(prefix + "ssl.truststore.password", secrets.getProperty("truststore.password"));
    m.put(prefix + "ssl.truststore.type", "PKCS12");
    return m;
  }

  /** The broker keystore by keytool, then a truststore holding only its certificate. */
  private void generateStores() throws IOException {
    Path ks = dir.resolve(KEYSTORE);
    Files.deleteIfExists(ks);
    Path log = dir.resolve("keytool.log");
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "broker",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=" + BROKER_PRINCIPAL,
                "-ext",
                "SAN=dns:localhost,ip:127.0.0.1",
                "-validity",
                "3650",
                "-storetype",
                "PKCS12",
                "-keystore",
                ks.toString(),
                // From the environment, so the password is not on a command line others can see.
                "-storepass:env",
                "SOFTSTREAM_KS_PASS",
                "-keypass:env",
                "SOFTSTREAM_KS_PASS")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("SOFTSTREAM_KS_PASS", secrets.getProperty("keystore.password"));
    Process p = pb.start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "keytool could not generate the broker certificate: "
                + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while generating the certificate", e);
    }
    try {
      KeyStore broker = load(ks, secrets.getProperty("keystore.password"));
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("softstream-broker", broker.getCertificate("broker"));
      try (OutputStream out = Files.newOutputStream(dir.resolve(TRUSTSTORE))) {
        trust.store(out, secrets.getProperty("truststore.password").toCharArray());
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Could not write the truststore in " + dir, e);
    }
  }

  private static KeyStore load(Path f, String password)
      throws IOException, GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(f)) {
      ks.load(in, password.toCharArray());
    }
    return ks;
  }

  private static String randomSecret() {
    byte[] b = new byte[18];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    }
  }

  @Override
  public String toString() {
    // Never the secrets.
    return "SecureSetup[" + dir + "]";
  }
}
