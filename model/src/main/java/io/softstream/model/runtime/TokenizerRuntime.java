package io.softstream.model.runtime;

import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;

/**
 * A loaded tokenizer on one engine: pixels to tokens and back, on plain arrays so callers never see
 * engine types. Not thread-safe: use one per worker thread (as with DJL's {@code Predictor}).
 *
 * <p>Pixel layout: {@code [B, C, H, W]} row-major, values in [-1, 1]. Token layout: {@code [B, N,
 * d]} row-major.
 */
public interface TokenizerRuntime extends AutoCloseable {

  /** Tokens and argmax code indices of a batch. */
  record Encoded(int batch, int tokens, int dim, float[] values, int[] codes) {
    /** The {@code i}-th image's tokens, {@code tokens * dim} floats. */
    public float[] image(int i) {
      float[] out = new float[tokens * dim];
      System.arraycopy(values, i * tokens * dim, out, 0, out.length);
      return out;
    }

    /** The {@code i}-th image's code indices, {@code tokens} ints. */
    public int[] codes(int i) {
      int[] out = new int[tokens];
      System.arraycopy(codes, i * tokens, out, 0, tokens);
      return out;
    }
  }

  ModelCard card();

  default TokenizerConfig config() {
    return card().tokenizerConfig();
  }

  /** The engine actually running the model. */
  EngineKind engine();

  /** Encodes {@code batch} images ({@code batch*C*H*W} floats in [-1, 1]). */
  Encoded encode(float[] pixels, int batch);

  /** Decodes {@code batch} token sets ({@code batch*N*d} floats) to pixels in [-1, 1], clamped. */
  float[] decode(float[] tokens, int batch);

  @Override
  void close();
}
