package io.softstream.trainer.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FrechetTest {

  @Test
  void eigenAndSquareRootOfAKnownMatrix() {
    double[][] a = {{2, 1}, {1, 2}}; // eigenvalues 1 and 3
    double[] e = Frechet.eigen(a, null);
    java.util.Arrays.sort(e);
    assertThat(e[0]).isCloseTo(1, within(1e-12));
    assertThat(e[1]).isCloseTo(3, within(1e-12));
    double[][] s = Frechet.sqrtPsd(a);
    double[][] back = Frechet.mul(s, s);
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 2; j++) {
        assertThat(back[i][j]).isCloseTo(a[i][j], within(1e-12));
      }
    }
  }

  @Test
  void distanceOfGaussiansMatchesTheClosedForm() {
    // Same set: 0. Shifted by c: |c|^2. Diagonal covariances: sum (sqrt(s1) - sqrt(s2))^2.
    double[] m1 = {0, 1, 2};
    double[] m2 = {1, 1, 0};
    double[][] c1 = {{4, 0, 0}, {0, 1, 0}, {0, 0, 9}};
    double[][] c2 = {{1, 0, 0}, {0, 1, 0}, {0, 0, 4}};
    var p = new Frechet.Stats(m1, c1);
    var q = new Frechet.Stats(m2, c2);
    assertThat(Frechet.distance(p, p)).isCloseTo(0, within(1e-9));
    assertThat(Frechet.distance(p, q))
        .isCloseTo(1 + 0 + 4 + (2 - 1) * (2 - 1) + 0 + (3 - 2) * (3 - 2), within(1e-9));
  }

  @Test
  void statsOfSamplesAndSymmetryOnCorrelatedData() {
    Random r = new Random(1);
    int n = 4000;
    int d = 5;
    float[] x = new float[n * d];
    float[] y = new float[n * d];
    for (int i = 0; i < n; i++) {
      double z = r.nextGaussian();
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) (z + 0.5 * r.nextGaussian());
        y[i * d + j] = (float) (0.5 * z + r.nextGaussian() + 0.3);
      }
    }
    var sx = Frechet.stats(x, n, d);
    var sy = Frechet.stats(y, n, d);
    assertThat(sx.cov()[0][0]).isCloseTo(1.25, within(0.1));
    assertThat(sx.cov()[0][1]).isCloseTo(1.0, within(0.1));
    double a = Frechet.distance(sx, sy);
    assertThat(a).isCloseTo(Frechet.distance(sy, sx), within(1e-6));
    assertThat(a).isGreaterThan(0.3);
  }
}
