package io.softstream.model.runtime;

import io.softstream.model.ModelCard;
import java.util.Arrays;

/**
 * Runs batches larger than {@code maxBatch} as consecutive slices, so an engine built for a fixed
 * range of batch sizes (TensorRT's profile) never sees a shape outside it and never rebuilds.
 */
final class BatchSplittingRuntime implements TokenizerRuntime {
  private final TokenizerRuntime inner;
  private final int maxBatch;

  BatchSplittingRuntime(TokenizerRuntime inner, int maxBatch) {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
    }
    this.inner = inner;
    this.maxBatch = maxBatch;
  }

  @Override
  public ModelCard card() {
    return inner.card();
  }

  @Override
  public EngineKind engine() {
    return inner.engine();
  }

  @Override
  public Encoded encode(float[] pixels, int batch) {
    if (batch <= maxBatch) {
      return inner.encode(pixels, batch);
    }
    int per = pixels.length / batch;
    if ((long) per * batch != pixels.length) {
      return inner.encode(pixels, batch); // wrong length: the engine's check says so
    }
    float[] values = null;
    int[] codes = null;
    int tokens = 0;
    int dim = 0;
    for (int from = 0; from < batch; from += maxBatch) {
      int n = Math.min(maxBatch, batch - from);
      Encoded e = inner.encode(Arrays.copyOfRange(pixels, from * per, (from + n) * per), n);
      if (values == null) {
        tokens = e.tokens();
        dim = e.dim();
        values = new float[batch * tokens * dim];
        codes = new int[batch * tokens];
      }
      System.arraycopy(e.values(), 0, values, from * tokens * dim, e.values().length);
      System.arraycopy(e.codes(), 0, codes, from * tokens, e.codes().length);
    }
    return new Encoded(batch, tokens, dim, values, codes);
  }

  @Override
  public float[] decode(float[] tokens, int batch) {
    if (batch <= maxBatch) {
      return inner.decode(tokens, batch);
    }
    int per = tokens.length / batch;
    if ((long) per * batch != tokens.length) {
      return inner.decode(tokens, batch);
    }
    float[] out = null;
    int outPer = 0;
    for (int from = 0; from < batch; from += maxBatch) {
      int n = Math.min(maxBatch, batch - from);
      float[] px = inner.decode(Arrays.copyOfRange(tokens, from * per, (from + n) * per), n);
      if (out == null) {
        outPer = px.length / n;
        out = new float[batch * outPer];
      }
      System.arraycopy(px, 0, out, from * outPer, px.length);
    }
    return out;
  }

  @Override
  public void close() {
    inner.close();
  }
}
