package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * Latent quantizer: soft VQ (SoftVQ-VAE), hard VQ (baseline) or identity (plain autoencoder).
 *
 * <p>Input {@code z [B, N, d]}. Output {@code NDList(zq [B, N, d], auxLoss [], indices [B, N]
 * int64)}, where {@code auxLoss} is already weighted and is to be added to the training loss.
 *
 * <p>Soft VQ, as in the official code: tokens are split into G consecutive groups, group g uses
 * codebook {@code codebook[g] (K x d)}. Both {@code z} and the codebook are L2-normalised; {@code
 * logits = z . stopGradient(C)^T} (cosine similarity); {@code p = softmax(logits / tau)}; {@code zq
 * = p . C} (not re-normalised). The codebook therefore learns only through the weighted sum. No
 * codebook, commitment or straight-through term. {@code auxLoss = entropyWeight * (mean_i
 * H(softmax(logits_i / T)) - H(mean_i softmax(logits_i / T)))} over all tokens of the batch (all
 * codebooks flattened together, as the official code does), T = entropyTemperature.
 *
 * <p>Hard VQ: same normalisation and codebooks, {@code c = C[argmax logits]}, {@code zq = z +
 * stopGradient(c - z)}, {@code auxLoss = mse(c, sg(z)) + beta * mse(z, sg(c))}.
 *
 * <p>Indices are the argmax codeword per token (for soft VQ only informative). Parameter name:
 * {@code codebook [G, K, d]}, initialised normal(0, 1/sqrt(d)) so rows have norm about 1.
 *
 * <p>Deviation from the official code (uniform(+-1/K) rows, norm ~1e-3): with such tiny rows every
 * Adam step of size ~lr turns them by a large angle, and rows drifting through zero make the
 * normalisation's gradient (~1/|c|) explode; our first Fashion-MNIST run went NaN at step ~590. The
 * forward maths is unchanged since rows are L2-normalised anyway.
 */
public final class Quantizer extends AbstractBlock {
  private static final byte VERSION = 1;
  private static final float NORM_EPS = 1e-12f;

  private final TokenizerConfig cfg;
  private final Parameter codebook;

  /** Creates the quantizer named by {@code cfg.quantizer()}. */
  public Quantizer(TokenizerConfig cfg) {
    super(VERSION);
    this.cfg = cfg;
    if (cfg.quantizer().equals("none")) {
      codebook = null;
    } else {
      codebook =
          addParameter(
              Params.raw(
                  "codebook",
                  new Shape(cfg.numCodebooks(), cfg.codebookSize(), cfg.codeDim()),
                  new NormalInitializer((float) (1 / Math.sqrt(cfg.codeDim())))));
    }
  }

  /** L2-normalises along the last axis, as torch's F.normalize (norm clamped at 1e-12). */
  public static NDArray l2normalize(NDArray x) {
    return x.div(Scalars.maximum(x.norm(new int[] {-1}, true), NORM_EPS));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray z = inputs.singletonOrThrow();
    NDManager m = z.getManager();
    long b = z.getShape().get(0);
    int n = cfg.tokens(), g = cfg.numCodebooks(), d = cfg.codeDim(), k = cfg.codebookSize();
    if (codebook == null) {
      return new NDList(z, m.zeros(new Shape()), m.zeros(new Shape(b, n), DataType.INT64));
    }
    int per = n / g;
    // [B, N, d] -> [G, B*per, d]: consecutive token groups share a codebook.
    NDArray zf = l2normalize(z.reshape(b, g, per, d).transpose(1, 0, 2, 3).reshape(g, b * per, d));
    NDArray cb = l2normalize(Params.local(ps, codebook, m, training));
    NDArray logits = zf.matMul(cb.stopGradient().transpose(0, 2, 1)); // [G, B*per, K]
    NDArray idx = logits.argMax(-1); // [G, B*per]
    NDArray zq;
    NDArray aux;
    if (cfg.quantizer().equals("softvq")) {
      NDArray probs = Scalars.div(logits, cfg.tau()).softmax(-1);
      zq = probs.matMul(cb);
      aux =
          Scalars.mul(
              entropyLoss(logits.reshape(-1, k), cfg.entropyTemperature()), cfg.entropyWeight());
    } else {
      NDArray c = idx.oneHot(k, DataType.FLOAT32).matMul(cb);
      zq = zf.add(c.sub(zf).stopGradient());
      NDArray codebookLoss = c.sub(zf.stopGradient()).square().mean();
      NDArray commit = zf.sub(c.stopGradient()).square().mean();
      aux = codebookLoss.add(Scalars.mul(commit, cfg.commitmentWeight()));
    }
    zq = zq.reshape(g, b, per, d).transpose(1, 0, 2, 3).reshape(b, n, d);
    idx = idx.reshape(g, b, per).transpose(1, 0, 2).reshape(b, n);
    return new NDList(zq, aux, idx);
  }

  /**
   * Mean per-row entropy minus entropy of the mean distribution, with {@code p =
   * softmax(logits/t)}; rows are tokens. Matches {@code compute_entropy_loss} of the official code.
   */
  public static NDArray entropyLoss(NDArray logits, float temperature) {
    NDArray a = Scalars.div(logits, temperature);
    NDArray probs = a.softmax(-1);
    NDArray logProbs = a.logSoftmax(-1);
    NDArray sampleEntropy = probs.mul(logProbs).sum(new int[] {-1}).neg().mean();
    NDArray avg = probs.mean(new int[] {0});
    NDArray avgEntropy = avg.mul(avg.add(1e-5f).log()).sum().neg();
    return sampleEntropy.sub(avgEntropy);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape in = inputShapes[0];
    return new Shape[] {in, new Shape(), new Shape(in.get(0), in.get(1))};
  }
}
