package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.access.AccessPolicy.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The secure setup's material: generated once, reused on restart, private, never printed. */
class SecureSetupTest {
  @TempDir Path dir;

  @Test
  void generatesACertificateAndPasswordsOnceAndReusesThem() throws Exception {
    SecureSetup first = SecureSetup.prepare(dir);
    Set<String> passwords = new HashSet<>(first.users().values());
    assertThat(passwords).hasSize(Role.values().length);
    assertThat(passwords).allSatisfy(p -> assertThat(p).hasSize(24));

    KeyStore trust = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(dir.resolve("truststore.p12"))) {
      trust.load(in, ((String) first.trustOnly().get("ssl.truststore.password")).toCharArray());
    }
    X509Certificate cert = (X509Certificate) trust.getCertificate("softstream-broker");
    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=softstream-broker");
    assertThat(cert.getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1))))
        .containsExactlyInAnyOrder("localhost", "127.0.0.1");
    assertThat(Files.getPosixFilePermissions(dir.resolve("credentials.properties")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));

    SecureSetup again = SecureSetup.prepare(dir);
    assertThat(again.users()).isEqualTo(first.users());
    assertThat(again.internalPort()).isEqualTo(first.internalPort());
    assertThat(again.toString()).doesNotContain(passwords);
  }

  @Test
  void brokerAndClientSettingsNameTheListenersStoresAndRoles() throws Exception {
    SecureSetup s = SecureSetup.prepare(dir);
    Map<String, String> broker = s.brokerProperties();
    assertThat(broker.get("listeners"))
        .isEqualTo(
            "SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:"
                + s.internalPort()
                + ",CONTROLLER://127.0.0.1:${controller.port}");
    assertThat(broker)
        .containsEntry("super.users", "User:softstream-broker")
        .containsEntry("listener.name.internal.ssl.client.auth", "required")
        .containsEntry("listener.name.controller.ssl.client.auth", "required");

    Map<String, Object> reader = s.clientProperties(Role.TOKEN_READER);
    assertThat(reader)
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry(
            "basic.auth.user.info", "softstream-token-reader:" + s.password(Role.TOKEN_READER))
        .containsKey("schema.registry.ssl.truststore.location");
    assertThat((String) reader.get("sasl.jaas.config"))
        .contains("username=\"softstream-token-reader\"")
        .contains("password=\"" + s.password(Role.TOKEN_READER) + "\"");

    Map<Role, Path> files = s.writeClientFiles("127.0.0.1:1", "https://127.0.0.1:2");
    assertThat(files).hasSize(Role.values().length);
    Path f = files.get(Role.ENCODE_WORKER);
    assertThat(f.getFileName().toString()).isEqualTo("softstream-encode-worker.properties");
    assertThat(Files.getPosixFilePermissions(f))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    List<String> lines = Files.readAllLines(f);
    assertThat(lines)
        .contains("bootstrap.servers=127.0.0.1\\:1", "security.protocol=SASL_SSL")
        .anyMatch(l -> l.startsWith("basic.auth.user.info=softstream-encode-worker\\:"));
  }
}
