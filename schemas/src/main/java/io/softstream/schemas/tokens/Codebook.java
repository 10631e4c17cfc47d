package io.softstream.schemas.tokens;

/**
 * The soft quantizer's codebooks as {@link TokenCodec} needs them: {@code groups x size x dim}
 * floats, row-major, every codeword L2-normalised (as the quantizer uses them). Token {@code t} of
 * {@code n} uses codebook {@code t / (n / groups)}: consecutive token groups share a codebook. The
 * model module reads it from a tokenizer's {@code encoder.onnx}.
 */
public record Codebook(int groups, int size, int dim, float[] unit) {
  public Codebook {
    if (groups <= 0 || size <= 0 || dim <= 0 || unit.length != groups * size * dim) {
      throw new IllegalArgumentException(
          "codebook of "
              + unit.length
              + " floats does not fit "
              + groups
              + " x "
              + size
              + " x "
              + dim);
    }
  }

  /** L2-normalises every row of a raw {@code [groups, size, dim]} codebook (norm clamped 1e-12). */
  public static Codebook normalise(int groups, int size, int dim, float[] raw) {
    float[] u = raw.clone();
    for (int r = 0; r < groups * size; r++) {
      double s = 0;
      for (int i = 0; i < dim; i++) {
        s += (double) u[r * dim + i] * u[r * dim + i];
      }
      float norm = (float) Math.max(Math.sqrt(s), 1e-12);
      for (int i = 0; i < dim; i++) {
        u[r * dim + i] /= norm;
      }
    }
    return new Codebook(groups, size, dim, u);
  }

  /** Bits of one code index: ceil(log2(size)), at least 1. */
  public int indexBits() {
    return Math.max(1, 32 - Integer.numberOfLeadingZeros(size - 1));
  }

  /** Offset in {@link #unit} of codeword {@code code} of the codebook that token {@code t} uses. */
  int row(int t, int tokens, int code) {
    return ((t / (tokens / groups)) * size + code) * dim;
  }
}
