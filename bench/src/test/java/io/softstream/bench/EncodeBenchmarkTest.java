package io.softstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The encode benchmark's pieces that need no broker. */
class EncodeBenchmarkTest {
  @Test
  void bareEngineIsAlsoMeasuredAtAWorkerBatchOutsideOneToSixtyFour() {
    // --batch 256 once failed with a NullPointerException: no bare figure at the worker's batch.
    assertThat(EncodeBenchmark.bareBatches(256)).containsExactly(1, 2, 4, 8, 16, 32, 64, 256);
    assertThat(EncodeBenchmark.bareBatches(32)).containsExactly(1, 2, 4, 8, 16, 32, 64);
    assertThat(EncodeBenchmark.bareBatches(3)).containsExactly(1, 2, 3, 4, 8, 16, 32, 64);
  }

  @Test
  void photosAreColourJpegsOfTheModelsSize() throws Exception {
    if (!Files.isDirectory(EncodeBenchmark.PHOTOS)) {
      return; // mate-backgrounds not installed: the benchmark says so itself
    }
    List<byte[]> photos = EncodeBenchmark.photoJpegs(3, 64);
    assertThat(photos).hasSize(3);
    var img = ImageIO.read(new java.io.ByteArrayInputStream(photos.get(0)));
    assertThat(img.getWidth()).isEqualTo(64);
    assertThat(img.getHeight()).isEqualTo(64);
    assertThat(img.getColorModel().getNumColorComponents()).isEqualTo(3);
  }

  @Test
  void cpuTimeAndPeakMemoryOfAProcessAreRead() {
    long pid = ProcessHandle.current().pid();
    assertThat(EncodeBenchmark.cpuMillis(pid)).isPositive();
    assertThat(EncodeBenchmark.peakRssMb(pid)).isGreaterThan(10);
  }
}
