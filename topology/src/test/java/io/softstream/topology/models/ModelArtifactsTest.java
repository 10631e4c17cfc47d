package io.softstream.topology.models;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelArtifactsTest {
  @TempDir Path dir;

  @Test
  void packStoresFilesUncompressedInNameOrderAndUnpacksThemByteForByte() throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    byte[] weights = new byte[300_000];
    new java.util.Random(7).nextBytes(weights);
    Files.write(model.resolve("encoder.params"), weights);
    Files.writeString(model.resolve("model.json"), "{\"format_version\": 1}");

    byte[] zip = ModelArtifacts.pack(model);
    List<String> names = new ArrayList<>();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        names.add(e.getName() + ":" + e.getMethod());
      }
    }
    // Stored: neither publishing nor a worker's unpacking spends CPU on (de)compression.
    assertThat(names)
        .containsExactly("encoder.params:" + ZipEntry.STORED, "model.json:" + ZipEntry.STORED);
    assertThat(ModelArtifacts.sha256(ModelArtifacts.pack(model)))
        .as("the same directory gives the same bytes")
        .isEqualTo(ModelArtifacts.sha256(zip));

    Path out = dir.resolve("out");
    ModelArtifacts.unpack(zip, out);
    assertThat(Files.readAllBytes(out.resolve("encoder.params"))).isEqualTo(weights);
    assertThat(Files.readString(out.resolve("model.json"))).isEqualTo("{\"format_version\": 1}");
  }
}
