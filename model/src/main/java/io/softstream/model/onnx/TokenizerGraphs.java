package io.softstream.model.onnx;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.OnnxGraph.Attr;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates {@link TokenEncoder} and {@link TokenDecoder} into ONNX graphs, op for op as the
 * blocks compute them (see model/README.md, "Forward, exactly"). Parameters become initializers
 * under dotted names ({@code block0.qkv.weight}); Linear weights keep DJL's {@code [out, in]}
 * layout (Gemm reads them with {@code transB}), so the initializers read like a torch {@code
 * state_dict}.
 *
 * <p>Three choices are for ONNX Runtime's CPU speed, not for meaning: linear layers are one Gemm
 * with its bias over the rows flattened to 2-D (ONNX Runtime does not fuse a bias Add into a 3-D
 * MatMul); GELU divides by sqrt 2, the pattern ONNX Runtime fuses into one Gelu kernel (a multiply
 * by 1/sqrt 2 is left as five element-wise ops, a fifth of the encoder's time); and q, k, v are
 * three Gemms on slices of the qkv weight, reshaped straight to their head layout. All are plain
 * ONNX ops that TensorRT takes.
 */
final class TokenizerGraphs {
  /** LayerNorm epsilon of {@code PreNormBlock}. */
  static final float LN_EPS = 1e-6f;

  /** Norm clamp of {@code Quantizer.l2normalize} (torch F.normalize). */
  static final float NORM_EPS = 1e-12f;

  private final OnnxGraph g;

  /** Shape of every parameter added, by initializer name. */
  private final Map<String, long[]> paramDims = new HashMap<>();

  private TokenizerGraphs(OnnxGraph g) {
    this.g = g;
  }

  /** Encoder: images [batch, C, H, W] -> tokens [batch, N, d] (zq), codes [batch, N] int64. */
  static OnnxGraph encoder(TokenEncoder enc) {
    TokenizerConfig c = enc.config();
    TokenizerGraphs t = new TokenizerGraphs(new OnnxGraph("softstream_encoder"));
    t.addParams(enc, "");
    OnnxGraph g = t.g;
    int p = c.patchSize(), gs = c.gridSize(), np = c.numPatches(), n = c.tokens(), dim = c.encDim();
    g.input("images", OnnxGraph.FLOAT, "batch", c.channels(), c.imageSize(), c.imageSize());

    String x = g.node("Reshape", List.of("images", g.ints(-1, c.channels(), gs, p, gs, p)));
    x = g.node("Transpose", List.of(x), Attr.ints("perm", 0, 2, 4, 3, 5, 1));
    x = g.node("Reshape", List.of(x, g.ints(-1, np, c.patchDim())));
    x = t.linear(x, "patch_embed", np);
    x = g.node("Add", List.of(x, "pos_embed"));
    String lat = g.node("Add", List.of("latent_tokens", "latent_pos_embed"));
    lat = g.node("Expand", List.of(lat, t.batchShape("images", n, dim)));
    x = g.node("Concat", List.of(x, lat), Attr.i("axis", 1));
    for (int i = 0; i < c.encDepth(); i++) {
      x = t.block(x, "block" + i, dim, c.encHeads(), np + n);
    }
    x = t.layerNorm(x, "norm");
    x = g.node("Slice", List.of(x, g.ints(np), g.ints(np + n), g.ints(1)));
    String z = t.linear(x, "to_code", n);
    t.quantizer(z, c);
    g.output("tokens", OnnxGraph.FLOAT, "batch", n, c.codeDim());
    g.output("codes", OnnxGraph.INT64, "batch", n);
    return g;
  }

  /** Decoder: tokens [batch, N, d] -> images [batch, C, H, W] clamped to [-1, 1]. */
  static OnnxGraph decoder(TokenDecoder dec) {
    TokenizerConfig c = dec.config();
    TokenizerGraphs t = new TokenizerGraphs(new OnnxGraph("softstream_decoder"));
    t.addParams(dec, "");
    OnnxGraph g = t.g;
    int p = c.patchSize(), gs = c.gridSize(), np = c.numPatches(), n = c.tokens(), dim = c.decDim();
    g.input("tokens", OnnxGraph.FLOAT, "batch", n, c.codeDim());

    String m = g.node("Add", List.of("mask_token", "pos_embed"));
    m = g.node("Expand", List.of(m, t.batchShape("tokens", np, dim)));
    String l = t.linear("tokens", "latent_proj", n);
    l = g.node("Add", List.of(l, "latent_pos_embed"));
    String x = g.node("Concat", List.of(m, l), Attr.i("axis", 1));
    for (int i = 0; i < c.decDepth(); i++) {
      x = t.block(x, "block" + i, dim, c.decHeads(), np + n);
    }
    x = t.layerNorm(x, "norm");
    x = g.node("Slice", List.of(x, g.ints(0), g.ints(np), g.ints(1)));
    String px = t.linear(x, "to_pixel", np);
    int k = c.decConvKernel();
    if (k > 0) {
      String grid = g.node("Reshape", List.of(x, g.ints(-1, gs, gs, dim)));
      grid = g.node("Transpose", List.of(grid), Attr.ints("perm", 0, 3, 1, 2));
      String mix =
          g.node(
              "Conv",
              List.of(grid, "conv_weight", "conv_bias"),
              Attr.ints("kernel_shape", k, k),
              Attr.ints("pads", k / 2, k / 2, k / 2, k / 2));
      mix = g.node("Transpose", List.of(mix), Attr.ints("perm", 0, 2, 3, 1));
      mix = g.node("Reshape", List.of(mix, g.ints(-1, np, c.patchDim())));
      px = g.node("Add", List.of(px, mix));
    }
    x = g.node("Reshape", List.of(px, g.ints(-1, gs, gs, p, p, c.channels())));
    x = g.node("Transpose", List.of(x), Attr.ints("perm", 0, 5, 1, 3, 2, 4));
    x = g.node("Reshape", List.of(x, g.ints(-1, c.channels(), c.imageSize(), c.imageSize())));
    g.nodeNamed("images", "Clip", List.of(x, g.floatScalar(-1f), g.floatScalar(1f)));
    g.output("images", OnnxGraph.FLOAT, "batch", c.channels(), c.imageSize(), c.imageSize());
    return g;
  }

  /**
   * Adds every parameter of {@code block} and its children; child "01patch_embed" becomes
   * "patch_embed.".
   */
  private void addParams(Block block, String prefix) {
    for (Pair<String, Parameter> p : block.getDirectParameters()) {
      NDArray a = p.getValue().getArray();
      long[] dims = a.getShape().getShape();
      String key = prefix + p.getKey();
      g.initializer(key, a.toFloatArray(), dims);
      paramDims.put(key, dims);
    }
    for (Pair<String, Block> child : block.getChildren()) {
      // DJL prefixes child names with a two-digit position ("%02d%s").
      addParams(child.getValue(), prefix + child.getKey().substring(2) + ".");
    }
  }

  /** [batch, a, b] as an int64 shape tensor, batch taken from {@code like}. */
  private String batchShape(String like, long a, long b) {
    String s = g.node("Shape", List.of(like));
    String batch = g.node("Slice", List.of(s, g.ints(0), g.ints(1)));
    return g.node("Concat", List.of(batch, g.ints(a, b)), Attr.i("axis", 0));
  }

  /**
   * {@code x [batch, rows, in] -> [batch, rows, out]}: {@code x W^T + b} as one Gemm over {@code
   * [batch*rows, in]}.
   */
  private String linear(String x, String prefix, long rows) {
    long[] w = paramDims.get(prefix + ".weight");
    String x2 = g.node("Reshape", List.of(x, g.ints(-1, w[1])));
    String y =
        g.node("Gemm", List.of(x2, prefix + ".weight", prefix + ".bias"), Attr.i("transB", 1));
    return g.node("Reshape", List.of(y, g.ints(-1, rows, w[0])));
  }

  private String layerNorm(String x, String prefix) {
    return g.node(
        "LayerNormalization",
        List.of(x, prefix + ".gamma", prefix + ".beta"),
        Attr.i("axis", -1),
        Attr.f("epsilon", LN_EPS));
  }

  /** Exact GELU, {@code x * 0.5 * (1 + erf(x / sqrt 2))}, as torch's default gelu. */
  private String gelu(String x) {
    String e =
        g.node("Erf", List.of(g.node("Div", List.of(x, g.floatScalar((float) Math.sqrt(2))))));
    String y = g.node("Mul", List.of(x, g.node("Add", List.of(e, g.floatScalar(1f)))));
    return g.node("Mul", List.of(y, g.floatScalar(0.5f)));
  }

  private String block(String x, String prefix, int dim, int heads, int seq) {
    int hd = dim / heads;
    String h = layerNorm(x, prefix + ".ln1");
    // q, k and v as three Gemms on row slices of the qkv weight (constant-folded at load), each
    // reshaped
    // straight to its head layout: k comes out transposed for q k^T, and no 5-D transpose or split
    // is needed.
    String h2 = g.node("Reshape", List.of(h, g.ints(-1, dim)));
    String q = head(h2, prefix + ".qkv", 0, dim, seq, heads, hd, 0, 2, 1, 3);
    String kt = head(h2, prefix + ".qkv", 1, dim, seq, heads, hd, 0, 2, 3, 1);
    String v = head(h2, prefix + ".qkv", 2, dim, seq, heads, hd, 0, 2, 1, 3);
    String s = g.node("MatMul", List.of(q, kt));
    s = g.node("Mul", List.of(s, g.floatScalar((float) (1.0 / Math.sqrt(hd)))));
    String a = g.node("Softmax", List.of(s), Attr.i("axis", -1));
    String o = g.node("MatMul", List.of(a, v));
    o = g.node("Transpose", List.of(o), Attr.ints("perm", 0, 2, 1, 3));
    o = g.node("Reshape", List.of(o, g.ints(-1, seq, dim)));
    x = g.node("Add", List.of(x, linear(o, prefix + ".proj", seq)));
    h = layerNorm(x, prefix + ".ln2");
    h = gelu(linear(h, prefix + ".fc1", seq));
    return g.node("Add", List.of(x, linear(h, prefix + ".fc2", seq)));
  }

  /**
   * Part {@code part} (0 q, 1 k, 2 v) of the qkv projection of the 2-D rows {@code h2}, reshaped to
   * {@code [batch, seq, heads, hd]} and transposed by {@code perm}.
   */
  private String head(
      String h2, String prefix, int part, int dim, int seq, int heads, int hd, long... perm) {
    String from = g.ints((long) part * dim),
        to = g.ints((long) (part + 1) * dim),
        axis0 = g.ints(0);
    String w = g.node("Slice", List.of(prefix + ".weight", from, to, axis0));
    String b = g.node("Slice", List.of(prefix + ".bias", from, to, axis0));
    String y = g.node("Gemm", List.of(h2, w, b), Attr.i("transB", 1));
    y = g.node("Reshape", List.of(y, g.ints(-1, seq, heads, hd)));
    return g.node("Transpose", List.of(y), Attr.ints("perm", perm));
  }

  /**
   * {@code x / max(||x||_2, 1e-12)} along the last axis. ReduceL2 takes axes as an attribute up to
   * opset 17.
   */
  private String l2normalize(String x) {
    String norm = g.node("ReduceL2", List.of(x), Attr.ints("axes", -1), Attr.i("keepdims", 1));
    norm = g.node("Max", List.of(norm, g.floatScalar(NORM_EPS)));
    return g.node("Div", List.of(x, norm));
  }

  private void quantizer(String z, TokenizerConfig c) {
    int n = c.tokens(), d = c.codeDim();
    if (c.quantizer().equals("none")) {
      g.nodeNamed("tokens", "Identity", List.of(z));
      String s = g.node("Shape", List.of(z));
      String bn = g.node("Slice", List.of(s, g.ints(0), g.ints(2)));
      g.nodeNamed(
          "codes",
          "ConstantOfShape",
          List.of(bn),
          Attr.tensor(
              "value",
              OnnxGraph.tensor(null, OnnxGraph.INT64, OnnxGraph.longBytes(new long[] {0}), 1)));
      return;
    }
    int groups = c.numCodebooks(), per = n / groups, k = c.codebookSize();
    // [B, N, d] -> [G, B*per, d]: consecutive token groups share a codebook.
    String zg = g.node("Reshape", List.of(z, g.ints(-1, groups, per, d)));
    zg = g.node("Transpose", List.of(zg), Attr.ints("perm", 1, 0, 2, 3));
    zg = g.node("Reshape", List.of(zg, g.ints(groups, -1, d)));
    String zn = l2normalize(zg);
    String cn = l2normalize("quantizer.codebook");
    String cnT = g.node("Transpose", List.of(cn), Attr.ints("perm", 0, 2, 1));
    String logits = g.node("MatMul", List.of(zn, cnT));
    String idx = g.node("ArgMax", List.of(logits), Attr.i("axis", -1), Attr.i("keepdims", 0));
    String zq;
    if (c.quantizer().equals("softvq")) {
      String probs =
          g.node(
              "Softmax",
              List.of(g.node("Div", List.of(logits, g.floatScalar(c.tau())))),
              Attr.i("axis", -1));
      zq = g.node("MatMul", List.of(probs, cn));
    } else {
      // hard VQ: codeword row cn[g, idx] gathered from the flattened [G*K, d] codebook.
      long[] offsets = new long[groups];
      for (int i = 0; i < groups; i++) {
        offsets[i] = (long) i * k;
      }
      String flatIdx =
          g.node("Add", List.of(idx, g.initializer(g.fresh("group_offsets"), offsets, groups, 1)));
      String flat = g.node("Reshape", List.of(cn, g.ints((long) groups * k, d)));
      String code = g.node("Gather", List.of(flat, flatIdx), Attr.i("axis", 0));
      // zn + (c - zn), as the straight-through estimator computes it in eval mode.
      zq = g.node("Add", List.of(zn, g.node("Sub", List.of(code, zn))));
    }
    zq = g.node("Reshape", List.of(zq, g.ints(groups, -1, per, d)));
    zq = g.node("Transpose", List.of(zq), Attr.ints("perm", 1, 0, 2, 3));
    g.nodeNamed("tokens", "Reshape", List.of(zq, g.ints(-1, n, d)));
    String codes = g.node("Reshape", List.of(idx, g.ints(groups, -1, per)));
    codes = g.node("Transpose", List.of(codes), Attr.ints("perm", 1, 0, 2));
    g.nodeNamed("codes", "Reshape", List.of(codes, g.ints(-1, n)));
  }
}
