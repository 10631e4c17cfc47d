package io.softstream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The encode benchmark's pieces that need no broker. */
class EncodeBenchmarkTest {
  @Test
  void rateComesFromTheWorkersTimestampsEvenWhenTheBacklogArrivesInOnePoll() {
    // 30 records, three batches 100 ms apart, out of order across partitions: the window is the
    // 4th (10th percentile) to the last record, 26 intervals in 200 ms.
    List<Long> ts = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      ts.add(1_000L + 100L * (2 - i % 3));
    }
    assertThat(EncodeBenchmark.steadyRate(ts)).isCloseTo(26 / 0.2, offset(1e-9));
    assertThat(EncodeBenchmark.steadyRate(List.of(5L, 5L, 5L, 5L))).isEqualTo(3000.0);
    assertThat(EncodeBenchmark.steadyRate(List.of(5L))).isZero();
  }

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
