package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Pre-LayerNorm ViT block: {@code x + Attn(LN(x))}, then {@code x + MLP(LN(x))}.
 *
 * <p>Attention is {@link Attention#selfAttention}: full and bidirectional, {@code qkv = Linear(D,
 * 3D)}, split as {@code [B, T, 3, H, D/H]}, {@code softmax(q k^T / sqrt(D/H)) v}, heads
 * concatenated, then {@code Linear(D, D)}. The MLP is {@code Linear(D, rD) -> GELU (exact, erf
 * form) -> Linear(rD, D)}. LayerNorm epsilon is 1e-6. Child names: {@code ln1, qkv, proj, ln2, fc1,
 * fc2}.
 */
public final class PreNormBlock extends AbstractBlock {
  private static final byte VERSION = 1;
  static final float LN_EPS = 1e-6f;

  private final int heads;
  private final LayerNorm ln1;
  private final Linear qkv;
  private final Linear proj;
  private final LayerNorm ln2;
  private final Linear fc1;
  private final Linear fc2;

  /**
   * Creates a block of width {@code dim} with {@code heads} heads and MLP width {@code mlpRatio *
   * dim}.
   */
  public PreNormBlock(int dim, int heads, int mlpRatio) {
    super(VERSION);
    this.heads = heads;
    ln1 = addChildBlock("ln1", layerNorm());
    qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
    proj = addChildBlock("proj", Linear.builder().setUnits(dim).build());
    ln2 = addChildBlock("ln2", layerNorm());
    fc1 = addChildBlock("fc1", Linear.builder().setUnits((long) mlpRatio * dim).build());
    fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
  }

  static LayerNorm layerNorm() {
    // axis 2: inputs are always [B, T, D]; DJL's LayerNorm does not accept -1 here.
    return LayerNorm.builder().axis(2).optEpsilon(LN_EPS).build();
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray h = ln1.forward(ps, new NDList(x), training).singletonOrThrow();
    x = x.add(Attention.selfAttention(ps, qkv, proj, h, heads, training));
    h = ln2.forward(ps, new NDList(x), training).singletonOrThrow();
    h = Activation.gelu(fc1.forward(ps, new NDList(h), training).singletonOrThrow());
    x = x.add(fc2.forward(ps, new NDList(h), training).singletonOrThrow());
    return new NDList(x);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape in = inputShapes[0];
    ln1.initialize(manager, dataType, in);
    qkv.initialize(manager, dataType, in);
    proj.initialize(manager, dataType, in);
    ln2.initialize(manager, dataType, in);
    fc1.initialize(manager, dataType, in);
    fc2.initialize(manager, dataType, fc1.getOutputShapes(new Shape[] {in})[0]);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }
}
