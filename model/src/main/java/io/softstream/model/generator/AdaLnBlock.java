package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.softstream.model.Attention;
import io.softstream.model.Scalars;

/**
 * DiT block with adaLN-Zero conditioning.
 *
 * <p>Inputs {@code (x [B, N, D], c [B, D])}. {@code SiLU(c) -> ada Linear(D, 6D)} gives shift,
 * scale and gate for attention ({@link Attention#selfAttention}, as in the tokenizer's blocks) and
 * MLP: {@code x += gate_a * Attn(LN(x) * (1 + scale_a) + shift_a)}, then the same for the MLP
 * ({@code Linear(D, rD) -> GELU -> Linear(rD, D)}). LN has no affine parameters. {@code ada} is
 * zero-initialised ({@link Generator#zeroInit()}), so a fresh block is the identity. Child names:
 * {@code ada, qkv, proj, fc1, fc2}.
 */
public final class AdaLnBlock extends AbstractBlock {
  private static final byte VERSION = 1;
  static final float LN_EPS = 1e-6f;

  private final int heads;
  final Linear ada;
  private final Linear qkv;
  private final Linear proj;
  private final Linear fc1;
  private final Linear fc2;

  /** A block of width {@code dim}, {@code heads} heads, MLP width {@code mlpRatio * dim}. */
  public AdaLnBlock(int dim, int heads, int mlpRatio) {
    super(VERSION);
    this.heads = heads;
    ada = addChildBlock("ada", Linear.builder().setUnits(6L * dim).build());
    qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
    proj = addChildBlock("proj", Linear.builder().setUnits(dim).build());
    fc1 = addChildBlock("fc1", Linear.builder().setUnits((long) mlpRatio * dim).build());
    fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
  }

  /** LayerNorm over the last axis without affine parameters. */
  static NDArray layerNorm(NDArray x) {
    NDArray mean = x.mean(new int[] {-1}, true);
    NDArray centred = x.sub(mean);
    NDArray var = centred.square().mean(new int[] {-1}, true);
    return centred.div(var.add(LN_EPS).sqrt());
  }

  /**
   * {@code x * (1 + scale) + shift} with per-sample {@code [B, D]} modulation broadcast over
   * tokens.
   */
  static NDArray modulate(NDArray x, NDArray shift, NDArray scale) {
    return x.mul(scale.expandDims(1).add(1f)).add(shift.expandDims(1));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDArray c = inputs.get(1);
    NDList mod =
        ada.forward(ps, new NDList(Scalars.silu(c)), training).singletonOrThrow().split(6, 1);
    NDArray h = modulate(layerNorm(x), mod.get(0), mod.get(1));
    NDArray o = Attention.selfAttention(ps, qkv, proj, h, heads, training);
    x = x.add(o.mul(mod.get(2).expandDims(1)));
    h = modulate(layerNorm(x), mod.get(3), mod.get(4));
    h = Activation.gelu(fc1.forward(ps, new NDList(h), training).singletonOrThrow());
    h = fc2.forward(ps, new NDList(h), training).singletonOrThrow();
    x = x.add(h.mul(mod.get(5).expandDims(1)));
    return new NDList(x);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape in = inputShapes[0];
    ada.initialize(manager, dataType, inputShapes[1]);
    qkv.initialize(manager, dataType, in);
    proj.initialize(manager, dataType, in);
    fc1.initialize(manager, dataType, in);
    fc2.initialize(manager, dataType, fc1.getOutputShapes(new Shape[] {in})[0]);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }
}
