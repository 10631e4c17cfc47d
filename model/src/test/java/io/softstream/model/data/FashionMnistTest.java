package io.softstream.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {

  @Test
  void readsTheOfficialTestSplit() throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR),
        "SKIPPED: needs the Debian package dataset-fashion-mnist");
    FashionMnist.Split all = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, 0);
    assertThat(all.count()).isEqualTo(10_000);
    assertThat(all.rows()).isEqualTo(28);
    assertThat(all.cols()).isEqualTo(28);
    // The first test images are an ankle boot, a pullover, a trouser (published label order).
    assertThat(all.labels()).startsWith(9, 2, 1, 1, 6);
    FashionMnist.Split five = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, 5);
    assertThat(five.count()).isEqualTo(5);
    assertThat(five.pixels()).isEqualTo(java.util.Arrays.copyOf(all.pixels(), 5 * 784));
    assertThat(five.image(0).getRaster().getSample(14, 14, 0))
        .isEqualTo(all.pixels()[14 * 28 + 14] & 0xff);
    float[] padded = five.padded(32);
    assertThat(padded).hasSize(5 * 1024);
    // A 2-pixel background border (-1), then pixel (0,0) of the image at (2,2).
    assertThat(padded[0]).isEqualTo(-1f);
    assertThat(padded[2 * 32 + 2]).isEqualTo((all.pixels()[0] & 0xff) / 127.5f - 1f);
    assertThat(padded[(14 + 2) * 32 + 14 + 2])
        .isEqualTo((all.pixels()[14 * 28 + 14] & 0xff) / 127.5f - 1f);
  }

  @Test
  void aMissingFileNamesThePackage(@TempDir Path dir) {
    assertThatThrownBy(() -> FashionMnist.read(dir, true, 0))
        .hasMessageContaining("train-images-idx3-ubyte[.gz]")
        .hasMessageContaining("dataset-fashion-mnist");
  }
}
