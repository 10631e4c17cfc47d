package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class ReconstructionLossTest {
  /** Two 1x2x2 images: the first off by 0.1 everywhere, the second by 0.001. */
  private static NDArray[] pair(NDManager m) {
    NDArray x = m.zeros(new Shape(2, 1, 2, 2));
    float[] y = {0.1f, 0.1f, 0.1f, 0.1f, 0.001f, 0.001f, 0.001f, 0.001f};
    return new NDArray[] {m.create(y, new Shape(2, 1, 2, 2)), x};
  }

  @Test
  void mseIsTheBatchMean() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray[] p = pair(m);
      float mse = TrainerRun.reconstructionLoss(p[0], p[1], "mse", 1e-5f).getFloat();
      assertThat(mse).isCloseTo((0.01f + 1e-6f) / 2, within(1e-7f));
    }
  }

  @Test
  void logMseCountsEveryImageTheSameInDecibels() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray[] p = pair(m);
      float eps = TrainConfig.defaults().logMseEps();
      float loss = TrainerRun.reconstructionLoss(p[0], p[1], "log_mse", eps).getFloat();
      double want = (Math.log(0.01 + eps) + Math.log(1e-6 + eps)) / 2;
      assertThat((double) loss).isCloseTo(want, within(1e-4));
      // The near-exact image weighs as much as the poor one, where MSE lets it vanish: halving the
      // small error moves log_mse, and barely moves mse.
      NDArray better =
          m.create(
              new float[] {0.1f, 0.1f, 0.1f, 0.1f, 5e-4f, 5e-4f, 5e-4f, 5e-4f},
              new Shape(2, 1, 2, 2));
      float logBetter = TrainerRun.reconstructionLoss(better, p[1], "log_mse", eps).getFloat();
      assertThat(loss - logBetter).isGreaterThan(0.01f);
    }
  }

  @Test
  void aLargerFloorLeavesMoreWeightOnTheDetailedImage() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray[] p = pair(m);
      // d loss / d mse_i = 1 / (B (mse_i + eps)): the ratio of the near-exact image's weight to the
      // poor one's is (0.01 + eps) / (1e-6 + eps), ~910 at 1e-5 and ~100 at 1e-4.
      for (float eps : new float[] {1e-5f, 1e-4f}) {
        double want = (Math.log(0.01 + eps) + Math.log(1e-6 + eps)) / 2;
        float loss = TrainerRun.reconstructionLoss(p[0], p[1], "log_mse", eps).getFloat();
        assertThat((double) loss).isCloseTo(want, within(1e-4));
      }
      assertThatThrownBy(
              () -> TrainConfig.defaults().withOverrides(java.util.Map.of("log_mse_eps", "0")))
          .hasMessageContaining("log_mse_eps must be > 0");
      assertThat(
              TrainConfig.defaults()
                  .withOverrides(java.util.Map.of("log_mse_eps", "1e-4"))
                  .logMseEps())
          .isEqualTo(1e-4f);
    }
  }

  @Test
  void anUnknownLossIsRefused() {
    assertThatThrownBy(
            () -> TrainConfig.defaults().withOverrides(java.util.Map.of("rec_loss", "l1")))
        .hasMessageContaining("rec_loss must be mse or log_mse");
  }
}
