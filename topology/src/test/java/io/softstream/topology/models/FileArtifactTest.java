package io.softstream.topology.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.topology.TopicLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artifacts at a file:// location (large models on a shared volume): fetched, size- and
 * checksum-verified.
 */
class FileArtifactTest {
  @TempDir Path dir;

  @Test
  void fileArtifactsAreVerifiedLikeKafkaOnes() throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    Files.writeString(model.resolve("model.json"), "{\"format_version\": 1}");
    Files.write(model.resolve("encoder.params"), new byte[] {1, 2, 3, 4});
    byte[] zip = ModelArtifacts.pack(model);
    Path file = dir.resolve("m.zip");
    Files.write(file, zip);
    ModelVersion v =
        ModelVersion.newBuilder()
            .setName("m")
            .setKind(ModelKind.ENCODER)
            .setVersion(1)
            .setArtifactLocation(file.toUri().toString())
            .setSha256(ModelArtifacts.sha256(zip))
            .setSizeBytes(zip.length)
            .setCreatedAt(Instant.EPOCH)
            .setStatus(ModelStatus.ACTIVE)
            .build();
    Map<String, Object> props =
        Map.of("bootstrap.servers", "127.0.0.1:1", "schema.registry.url", "mock://file-artifacts");
    try (ModelRegistry registry =
        new ModelRegistry(props, SchemaRegistryClients.create(props), TopicLayout.defaults())) {
      byte[] fetched = registry.fetch(v, Duration.ofSeconds(1));
      assertThat(fetched).isEqualTo(zip);
      Path out = dir.resolve("out");
      ModelArtifacts.unpack(fetched, out);
      assertThat(Files.readAllBytes(out.resolve("encoder.params"))).containsExactly(1, 2, 3, 4);

      byte[] tampered = zip.clone();
      tampered[tampered.length / 2] ^= 1;
      Files.write(file, tampered);
      assertThatThrownBy(() -> registry.fetch(v, Duration.ofSeconds(1)))
          .isInstanceOf(ModelRegistry.ArtifactException.class)
          .hasMessageContaining("refusing it");
      Files.delete(file);
      assertThatThrownBy(() -> registry.fetch(v, Duration.ofSeconds(1)))
          .hasMessageContaining("cannot be read");
    }
  }
}
