package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import io.softstream.model.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * SiT/DiT-style velocity network over the N latent tokens of a 1-D tokenizer, or (with {@code
 * pos_embed "2d"}, the 2-D baseline) over a square grid of latent patches such as {@link
 * PixelPatches}.
 *
 * <p>Inputs {@code (x [B, N, d], t [B] in [0, 1], y [B] class ids as float, numClasses = null
 * class)}. {@code x_embed} Linear(d, D)(x) + a fixed 1-D sine-cosine position embedding ({@link
 * #posEmbed}; {@link #posEmbed2d} for a 2-D grid); the condition {@code c = t_mlp(sincos(1000 t)) +
 * class_embed[y]} ({@code t_mlp}: Linear(256, D) -> SiLU -> Linear(D, D); {@code class_embed
 * [numClasses + 1, D]}); {@code block0..} {@link AdaLnBlock}s; final adaLN ({@code final_ada}: SiLU
 * -> Linear(D, 2D)) on a LayerNorm without affine, then {@code out} Linear(D, d). Output {@code
 * NDList(velocity [B, N, d])}. {@code final_ada}, {@code out} and every block's {@code ada} start
 * at zero (adaLN-Zero, as in DiT), so a fresh network predicts exactly zero.
 */
public final class Generator extends AbstractBlock {
  private static final byte VERSION = 1;

  /** Width of the sinusoidal time features fed to the time MLP. */
  static final int FREQ_DIM = 256;

  private final GeneratorConfig cfg;
  private final Linear xEmbed;
  private final Linear tFc1;
  private final Linear tFc2;
  private final Parameter classEmbed;
  private final List<AdaLnBlock> blocks = new ArrayList<>();
  private final Linear finalAda;
  private final Linear out;
  private final float[] pos;

  /** Builds an uninitialised generator for {@code cfg}. */
  public Generator(GeneratorConfig cfg) {
    super(VERSION);
    this.cfg = cfg;
    int d = cfg.hidden();
    xEmbed = addChildBlock("x_embed", Linear.builder().setUnits(d).build());
    tFc1 = addChildBlock("t_fc1", Linear.builder().setUnits(d).build());
    tFc2 = addChildBlock("t_fc2", Linear.builder().setUnits(d).build());
    classEmbed =
        addParameter(
            Parameter.builder()
                .setName("class_embed")
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(cfg.numClasses() + 1, d))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    for (int i = 0; i < cfg.depth(); i++) {
      blocks.add(addChildBlock("block" + i, new AdaLnBlock(d, cfg.heads(), cfg.mlpRatio())));
    }
    finalAda = addChildBlock("final_ada", Linear.builder().setUnits(2L * d).build());
    out = addChildBlock("out", Linear.builder().setUnits(cfg.codeDim()).build());
    pos =
        cfg.is2d()
            ? posEmbed2d((int) Math.round(Math.sqrt(cfg.tokens())), d)
            : posEmbed(cfg.tokens(), d);
  }

  /** The configuration this generator was built from. */
  public GeneratorConfig config() {
    return cfg;
  }

  /**
   * Fixed 1-D sine-cosine position embedding {@code [n, dim]} (MAE/DiT layout: the first half of
   * each row is {@code sin(p * w_k)}, the second {@code cos(p * w_k)}, {@code w_k =
   * 10000^(-k/(dim/2))}).
   */
  public static float[] posEmbed(int n, int dim) {
    int half = dim / 2;
    float[] e = new float[n * dim];
    for (int p = 0; p < n; p++) {
      for (int k = 0; k < half; k++) {
        double w = 1.0 / Math.pow(10000.0, k / (double) half);
        e[p * dim + k] = (float) Math.sin(p * w);
        e[p * dim + half + k] = (float) Math.cos(p * w);
      }
    }
    return e;
  }

  /**
   * Fixed 2-D sine-cosine position embedding {@code [side * side, dim]} of a row-major grid
   * (MAE/DiT's {@code get_2d_sincos_pos_embed}): the first half of each row is the 1-D embedding
   * ({@link #posEmbed} layout, width {@code dim / 2}) of the column, the second half that of the
   * row.
   */
  public static float[] posEmbed2d(int side, int dim) {
    if (dim % 4 != 0) {
      throw new IllegalArgumentException(
          "2-D position embedding needs dim divisible by 4, got " + dim);
    }
    int half = dim / 2;
    float[] line = posEmbed(side, half);
    float[] e = new float[side * side * dim];
    for (int r = 0; r < side; r++) {
      for (int c = 0; c < side; c++) {
        int p = r * side + c;
        System.arraycopy(line, c * half, e, p * dim, half);
        System.arraycopy(line, r * half, e, p * dim + half, half);
      }
    }
    return e;
  }

  /**
   * Sinusoidal features {@code [B, FREQ_DIM]} of {@code 1000 t} (DiT's timestep embedding, cos
   * first).
   */
  static NDArray timeFeatures(NDArray t) {
    NDManager m = t.getManager();
    int half = FREQ_DIM / 2;
    float[] freqs = new float[half];
    for (int k = 0; k < half; k++) {
      freqs[k] = (float) Math.exp(-Math.log(10000.0) * k / half);
    }
    NDArray args = t.mul(1000f).reshape(-1, 1).mul(m.create(freqs).reshape(1, half));
    return args.cos().concat(args.sin(), 1);
  }

  /**
   * Sets the adaLN modulations and the output projection to zero (DiT's adaLN-Zero initialisation).
   */
  public void zeroInit() {
    List<Linear> zero = new ArrayList<>();
    zero.add(finalAda);
    zero.add(out);
    for (AdaLnBlock b : blocks) {
      zero.add(b.ada);
    }
    for (Linear l : zero) {
      l.getParameters().forEach(p -> p.getValue().getArray().muli(0f));
    }
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDArray t = inputs.get(1);
    NDArray y = inputs.get(2);
    NDManager m = x.getManager();
    int d = cfg.hidden();
    NDArray h =
        xEmbed
            .forward(ps, new NDList(x), training)
            .singletonOrThrow()
            .add(m.create(pos, new Shape(1, cfg.tokens(), d)));
    NDArray te = tFc1.forward(ps, new NDList(timeFeatures(t)), training).singletonOrThrow();
    te = tFc2.forward(ps, new NDList(Scalars.silu(te)), training).singletonOrThrow();
    // One-hot matmul rather than gather: differentiable and the same on every engine.
    NDArray table = ps.getValue(classEmbed, m.getDevice(), training);
    // PyTorch's DJL binding has no oneHot: compare against 0..numClasses instead.
    NDArray onehot =
        y.reshape(-1, 1)
            .eq(m.arange(0f, cfg.numClasses() + 1f).reshape(1, -1))
            .toType(DataType.FLOAT32, false);
    NDArray c = te.add(onehot.matMul(table));
    for (AdaLnBlock blk : blocks) {
      h = blk.forward(ps, new NDList(h, c), training).singletonOrThrow();
    }
    NDList mod =
        finalAda.forward(ps, new NDList(Scalars.silu(c)), training).singletonOrThrow().split(2, 1);
    h = AdaLnBlock.modulate(AdaLnBlock.layerNorm(h), mod.get(0), mod.get(1));
    return new NDList(out.forward(ps, new NDList(h), training).singletonOrThrow());
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape in = inputShapes[0];
    long b = in.get(0);
    Shape seq = new Shape(b, cfg.tokens(), cfg.hidden());
    Shape vec = new Shape(b, cfg.hidden());
    xEmbed.initialize(manager, dataType, in);
    tFc1.initialize(manager, dataType, new Shape(b, FREQ_DIM));
    tFc2.initialize(manager, dataType, vec);
    for (AdaLnBlock blk : blocks) {
      blk.initialize(manager, dataType, seq, vec);
    }
    finalAda.initialize(manager, dataType, vec);
    out.initialize(manager, dataType, seq);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }
}
