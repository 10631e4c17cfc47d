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
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * ViT encoder with appended latent tokens, followed by the quantizer.
 *
 * <p>Input {@code images [B, C, H, W]} in [-1, 1]. Steps: patchify ({@link Patches}) -> {@code
 * patch_embed} Linear(p*p*C, D) -> + {@code pos_embed [P, D]}; latent tokens {@code latent_tokens
 * [N, D] + latent_pos_embed [N, D]} appended after the patches; the sequence {@code [P patches, N
 * latents]} goes through {@code block0..} ({@link PreNormBlock}) and the final {@code norm}; only
 * the last N outputs are kept; {@code to_code} Linear(D, d); then {@code quantizer} ({@link
 * Quantizer}). No cls token.
 *
 * <p>Output: {@code NDList(zq [B, N, d], auxLoss [], indices [B, N], z [B, N, d] pre-quantizer)}.
 */
public final class TokenEncoder extends AbstractBlock {
  private static final byte VERSION = 1;

  private final TokenizerConfig cfg;
  private final Linear patchEmbed;
  private final Parameter posEmbed;
  private final Parameter latentTokens;
  private final Parameter latentPos;
  private final List<PreNormBlock> blocks = new ArrayList<>();
  private final LayerNorm norm;
  private final Linear toCode;
  private final Quantizer quantizer;

  /** Builds an uninitialised encoder for {@code cfg}. */
  public TokenEncoder(TokenizerConfig cfg) {
    super(VERSION);
    this.cfg = cfg;
    int d = cfg.encDim();
    posEmbed =
        addParameter(
            Params.raw(
                "pos_embed",
                new Shape(cfg.numPatches(), d),
                new TruncatedNormalInitializer(0.02f)));
    latentTokens =
        addParameter(
            Params.raw(
                "latent_tokens",
                new Shape(cfg.tokens(), d),
                new TruncatedNormalInitializer(0.02f)));
    latentPos =
        addParameter(
            Params.raw(
                "latent_pos_embed",
                new Shape(cfg.tokens(), d),
                new TruncatedNormalInitializer(0.02f)));
    patchEmbed = addChildBlock("patch_embed", Linear.builder().setUnits(d).build());
    for (int i = 0; i < cfg.encDepth(); i++) {
      blocks.add(addChildBlock("block" + i, new PreNormBlock(d, cfg.encHeads(), cfg.mlpRatio())));
    }
    norm = addChildBlock("norm", PreNormBlock.layerNorm());
    toCode = addChildBlock("to_code", Linear.builder().setUnits(cfg.codeDim()).build());
    quantizer = addChildBlock("quantizer", new Quantizer(cfg));
  }

  /** The configuration this encoder was built from. */
  public TokenizerConfig config() {
    return cfg;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray images = inputs.singletonOrThrow();
    NDManager m = images.getManager();
    long b = images.getShape().get(0);
    int p = cfg.numPatches(), n = cfg.tokens();
    NDArray x =
        patchEmbed
            .forward(ps, new NDList(Patches.patchify(images, cfg.patchSize())), training)
            .singletonOrThrow();
    x = x.add(Params.local(ps, posEmbed, m, training));
    NDArray lat =
        m.zeros(new Shape(b, n, cfg.encDim()))
            .add(Params.local(ps, latentTokens, m, training))
            .add(Params.local(ps, latentPos, m, training));
    x = NDArrays.concat(new NDList(x, lat), 1);
    for (PreNormBlock blk : blocks) {
      x = blk.forward(ps, new NDList(x), training).singletonOrThrow();
    }
    x = norm.forward(ps, new NDList(x), training).singletonOrThrow();
    x = x.get(new NDIndex(":, " + p + ":, :"));
    NDArray z = toCode.forward(ps, new NDList(x), training).singletonOrThrow();
    NDList q = quantizer.forward(ps, new NDList(z), training);
    return new NDList(q.get(0), q.get(1), q.get(2), z);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape seq = new Shape(1, cfg.numPatches() + cfg.tokens(), cfg.encDim());
    patchEmbed.initialize(manager, dataType, new Shape(1, cfg.numPatches(), cfg.patchDim()));
    for (PreNormBlock blk : blocks) {
      blk.initialize(manager, dataType, seq);
    }
    norm.initialize(manager, dataType, seq);
    toCode.initialize(manager, dataType, new Shape(1, cfg.tokens(), cfg.encDim()));
    quantizer.initialize(manager, dataType, new Shape(1, cfg.tokens(), cfg.codeDim()));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    long b = inputShapes[0].get(0);
    Shape z = new Shape(b, cfg.tokens(), cfg.codeDim());
    return new Shape[] {z, new Shape(), new Shape(b, cfg.tokens()), z};
  }
}
