package io.softstream.trainer.generator;

/**
 * Fréchet distance between two Gaussians fitted to feature sets (the FID formula): {@code |mu1 -
 * mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))}. The trace of the matrix square root is computed as
 * {@code sum sqrt(eig(S1^(1/2) S2 S1^(1/2)))}, which is symmetric, so plain Jacobi
 * eigen-decomposition in double precision suffices (feature dimensions here are ~100).
 */
public final class Frechet {
  private Frechet() {}

  /** Mean and covariance (divisor n - 1) of {@code n} rows of {@code d} features. */
  public record Stats(double[] mean, double[][] cov) {}

  /** Statistics of {@code n} feature rows stored row-major in {@code x}. */
  public static Stats stats(float[] x, int n, int d) {
    if (n < 2) {
      throw new IllegalArgumentException("need at least 2 feature rows, got " + n);
    }
    double[] mu = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        mu[j] += x[i * d + j];
      }
    }
    for (int j = 0; j < d; j++) {
      mu[j] /= n;
    }
    double[][] c = new double[d][d];
    double[] row = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        row[j] = x[i * d + j] - mu[j];
      }
      for (int a = 0; a < d; a++) {
        for (int b = a; b < d; b++) {
          c[a][b] += row[a] * row[b];
        }
      }
    }
    for (int a = 0; a < d; a++) {
      for (int b = a; b < d; b++) {
        c[a][b] /= n - 1;
        c[b][a] = c[a][b];
      }
    }
    return new Stats(mu, c);
  }

  /** The Fréchet distance between two fitted Gaussians. */
  public static double distance(Stats p, Stats q) {
    int d = p.mean().length;
    double diff = 0;
    for (int j = 0; j < d; j++) {
      double t = p.mean()[j] - q.mean()[j];
      diff += t * t;
    }
    double tr = 0;
    for (int j = 0; j < d; j++) {
      tr += p.cov()[j][j] + q.cov()[j][j];
    }
    double[][] s1 = sqrtPsd(p.cov());
    double[][] m = mul(mul(s1, q.cov()), s1);
    double[] ev = eigen(m, null);
    double trSqrt = 0;
    for (double e : ev) {
      trSqrt += Math.sqrt(Math.max(0, e));
    }
    return Math.max(0, diff + tr - 2 * trSqrt);
  }

  /**
   * Square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped to 0).
   */
  static double[][] sqrtPsd(double[][] a) {
    int n = a.length;
    double[][] v = new double[n][n];
    double[] e = eigen(a, v);
    double[][] r = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int k = 0; k < n; k++) {
          s += v[i][k] * Math.sqrt(Math.max(0, e[k])) * v[j][k];
        }
        r[i][j] = s;
      }
    }
    return r;
  }

  static double[][] mul(double[][] a, double[][] b) {
    int n = a.length;
    double[][] r = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        double aik = a[i][k];
        for (int j = 0; j < n; j++) {
          r[i][j] += aik * b[k][j];
        }
      }
    }
    return r;
  }

  /**
   * Eigenvalues of a symmetric matrix by cyclic Jacobi rotations; if {@code vectors} is not null it
   * receives the eigenvectors as columns. The input is not modified.
   */
  static double[] eigen(double[][] sym, double[][] vectors) {
    int n = sym.length;
    double[][] a = new double[n][];
    for (int i = 0; i < n; i++) {
      a[i] = sym[i].clone();
    }
    double[][] v = vectors == null ? null : vectors;
    if (v != null) {
      for (int i = 0; i < n; i++) {
        java.util.Arrays.fill(v[i], 0);
        v[i][i] = 1;
      }
    }
    for (int sweep = 0; sweep < 100; sweep++) {
      double off = 0;
      double scale = 0;
      for (int i = 0; i < n; i++) {
        scale += a[i][i] * a[i][i];
        for (int j = i + 1; j < n; j++) {
          off += a[i][j] * a[i][j];
        }
      }
      if (off <= 1e-30 * Math.max(scale, 1e-300) || off == 0) {
        break;
      }
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          if (a[p][q] == 0) {
            continue;
          }
          double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
          double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          if (theta == 0) {
            t = 1;
          }
          double c = 1 / Math.sqrt(t * t + 1);
          double s = t * c;
          for (int k = 0; k < n; k++) {
            double akp = a[k][p];
            double akq = a[k][q];
            a[k][p] = c * akp - s * akq;
            a[k][q] = s * akp + c * akq;
          }
          for (int k = 0; k < n; k++) {
            double apk = a[p][k];
            double aqk = a[q][k];
            a[p][k] = c * apk - s * aqk;
            a[q][k] = s * apk + c * aqk;
          }
          if (v != null) {
            for (int k = 0; k < n; k++) {
              double vkp = v[k][p];
              double vkq = v[k][q];
              v[k][p] = c * vkp - s * vkq;
              v[k][q] = s * vkp + c * vkq;
            }
          }
        }
      }
    }
    double[] e = new double[n];
    for (int i = 0; i < n; i++) {
      e[i] = a[i][i];
    }
    return e;
  }
}
