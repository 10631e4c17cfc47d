package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class HogFeaturesTest {
  @Test
  void verticalEdgeVotesForHorizontalGradientBins() {
    try (NDManager m = NDManager.newBaseManager()) {
      float[] px = new float[8 * 8];
      for (int y = 0; y < 8; y++) {
        for (int x = 4; x < 8; x++) {
          px[y * 8 + x] = 1f; // dark left half, bright right half: gradient along +x, angle 0
        }
      }
      NDArray f = HogFeatures.compute(m.create(px, new Shape(1, 1, 8, 8)), 4, 9, m);
      assertThat(f.getShape()).isEqualTo(new Shape(1, 4, 9));
      float[] v = f.toFloatArray();
      // cell 0 (top-left) holds the edge at x = 3: angle 0 sits between bin centres 170 and 10 ->
      // equal votes
      assertThat(v[0]).isCloseTo(v[8], within(1e-6f));
      assertThat(v[0] * v[0] + v[8] * v[8]).isCloseTo(1f, within(1e-4f));
      // cell 1 (top-right) holds x = 4, also on the edge
      assertThat(v[9] * v[9] + v[17] * v[17]).isCloseTo(1f, within(1e-4f));
    }
  }
}
