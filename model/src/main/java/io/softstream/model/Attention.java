package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

/**
 * Multi-head self-attention, the one body shared by the tokenizer's {@link PreNormBlock} and the
 * generator's adaLN-Zero block (the ONNX exporter writes the same graph for {@code PreNormBlock}).
 *
 * <p>Full and bidirectional: {@code qkv = Linear(D, 3D)}, split as {@code [B, T, 3, H, D/H]},
 * {@code softmax(q k^T / sqrt(D/H)) v}, heads concatenated, then {@code proj = Linear(D, D)}.
 */
public final class Attention {
  private Attention() {}

  /**
   * Attention over the tokens of {@code h [B, T, D]} with {@code heads} heads; returns {@code
   * proj(...)} {@code [B, T, D]} (the caller adds the residual).
   */
  public static NDArray selfAttention(
      ParameterStore ps, Linear qkv, Linear proj, NDArray h, int heads, boolean training) {
    Shape s = h.getShape();
    long b = s.get(0);
    long t = s.get(1);
    long dim = s.get(2);
    long hd = dim / heads;
    NDArray qkvOut =
        qkv.forward(ps, new NDList(h), training)
            .singletonOrThrow()
            .reshape(b, t, 3, heads, hd)
            .transpose(2, 0, 3, 1, 4);
    NDArray q = qkvOut.get(0);
    NDArray k = qkvOut.get(1);
    NDArray v = qkvOut.get(2);
    NDArray attn = Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), 1.0 / Math.sqrt(hd)).softmax(-1);
    NDArray o = attn.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, dim);
    return proj.forward(ps, new NDList(o), training).singletonOrThrow();
  }
}
