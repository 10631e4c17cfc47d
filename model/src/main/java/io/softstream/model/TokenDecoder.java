package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * ViT decoder from latent tokens to pixels, with one shared mask token per output patch.
 *
 * <p>Input {@code zq [B, N, d]}. Sequence: P copies of {@code mask_token [D]} + {@code pos_embed
 * [P, D]}, then {@code latent_proj} Linear(d, D)(zq) + {@code latent_pos_embed [N, D]}; through
 * {@code block0..} and {@code norm}; the first P outputs -> {@code to_pixel} Linear(D, p*p*C) ->
 * unpatchify ({@link Patches}). With {@code dec_conv_kernel} k > 0 the pixel projection gets a
 * residual: the P outputs laid out as their patch grid {@code [B, D, g, g]} -> k x k convolution
 * ({@code conv_weight [p*p*C, D, k, k]}, {@code conv_bias}, zero padding, both zero-initialised) ->
 * added per patch. Output {@code NDList(images [B, C, H, W])}, unclamped. No cls token.
 */
public final class TokenDecoder extends AbstractBlock {
  private static final byte VERSION = 1;

  private final TokenizerConfig cfg;
  private final Parameter maskToken;
  private final Parameter posEmbed;
  private final Parameter latentPos;
  private final Linear latentProj;
  private final List<PreNormBlock> blocks = new ArrayList<>();
  private final LayerNorm norm;
  private final Linear toPixel;
  private final Parameter convWeight;
  private final Parameter convBias;

  /** Builds an uninitialised decoder for {@code cfg}. */
  public TokenDecoder(TokenizerConfig cfg) {
    super(VERSION);
    this.cfg = cfg;
    int d = cfg.decDim();
    maskToken =
        addParameter(Params.raw("mask_token", new Shape(d), new TruncatedNormalInitializer(0.02f)));
    posEmbed =
        addParameter(
            Params.raw(
                "pos_embed",
                new Shape(cfg.numPatches(), d),
                new TruncatedNormalInitializer(0.02f)));
    latentPos =
        addParameter(
            Params.raw(
                "latent_pos_embed",
                new Shape(cfg.tokens(), d),
                new TruncatedNormalInitializer(0.02f)));
    latentProj = addChildBlock("latent_proj", Linear.builder().setUnits(d).build());
    for (int i = 0; i < cfg.decDepth(); i++) {
      blocks.add(addChildBlock("block" + i, new PreNormBlock(d, cfg.decHeads(), cfg.mlpRatio())));
    }
    norm = addChildBlock("norm", PreNormBlock.layerNorm());
    toPixel = addChildBlock("to_pixel", Linear.builder().setUnits(cfg.patchDim()).build());
    int k = cfg.decConvKernel();
    // Raw (not WEIGHT) parameters: the model-wide Xavier initialiser must not replace the zeros
    // that make a fine-tune from a decoder without the convolution start where that one ended.
    convWeight =
        k == 0
            ? null
            : addParameter(
                Params.raw(
                    "conv_weight",
                    new Shape(cfg.patchDim(), d, k, k),
                    new ConstantInitializer(0f)));
    convBias =
        k == 0
            ? null
            : addParameter(
                Params.raw("conv_bias", new Shape(cfg.patchDim()), new ConstantInitializer(0f)));
  }

  /** The configuration this decoder was built from. */
  public TokenizerConfig config() {
    return cfg;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray zq = inputs.singletonOrThrow();
    NDManager m = zq.getManager();
    long b = zq.getShape().get(0);
    int p = cfg.numPatches();
    NDArray mask =
        m.zeros(new Shape(b, p, cfg.decDim()))
            .add(Params.local(ps, maskToken, m, training))
            .add(Params.local(ps, posEmbed, m, training));
    NDArray lat =
        latentProj
            .forward(ps, new NDList(zq), training)
            .singletonOrThrow()
            .add(Params.local(ps, latentPos, m, training));
    NDArray x = NDArrays.concat(new NDList(mask, lat), 1);
    for (PreNormBlock blk : blocks) {
      x = blk.forward(ps, new NDList(x), training).singletonOrThrow();
    }
    x = norm.forward(ps, new NDList(x), training).singletonOrThrow();
    x = x.get(new NDIndex(":, :" + p + ", :"));
    NDArray px = toPixel.forward(ps, new NDList(x), training).singletonOrThrow();
    if (convWeight != null) {
      int g = cfg.gridSize(), k = cfg.decConvKernel();
      NDArray grid = x.reshape(b, g, g, cfg.decDim()).transpose(0, 3, 1, 2);
      NDArray mix =
          Conv2d.conv2d(
                  grid,
                  Params.local(ps, convWeight, m, training),
                  Params.local(ps, convBias, m, training),
                  new Shape(1, 1),
                  new Shape(k / 2, k / 2),
                  new Shape(1, 1),
                  1)
              .singletonOrThrow();
      px = px.add(mix.transpose(0, 2, 3, 1).reshape(b, p, cfg.patchDim()));
    }
    return new NDList(Patches.unpatchify(px, cfg.patchSize(), cfg.channels()));
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape seq = new Shape(1, cfg.numPatches() + cfg.tokens(), cfg.decDim());
    latentProj.initialize(manager, dataType, new Shape(1, cfg.tokens(), cfg.codeDim()));
    for (PreNormBlock blk : blocks) {
      blk.initialize(manager, dataType, seq);
    }
    norm.initialize(manager, dataType, seq);
    toPixel.initialize(manager, dataType, new Shape(1, cfg.numPatches(), cfg.decDim()));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {
      new Shape(inputShapes[0].get(0), cfg.channels(), cfg.imageSize(), cfg.imageSize())
    };
  }
}
