package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.Random;

/**
 * The flow-matching training objective of SiT with the linear interpolant.
 *
 * <p>{@code x_t = (1 - t) x + t eps}, target velocity {@code eps - x}, mean squared error; {@code t
 * = sigmoid(n)}, {@code n ~ N(0, 1)} (log-normal weighting: {@code t = s / (1 + s)}, {@code s =
 * exp(n)}); each label is replaced by the null class with probability {@code dropProb} so the same
 * network also learns the unconditional velocity used by classifier-free guidance. All randomness
 * comes from the given {@link Random}, so a seeded run is reproducible.
 */
public final class FlowMatching {
  /** Label-dropout probability of SiT/DiT training. */
  public static final float DEFAULT_LABEL_DROP = 0.1f;

  private FlowMatching() {}

  /**
   * The loss of one batch.
   *
   * @param x0 normalised latents {@code [B, N, d]}
   * @param labels class ids, {@code B} of them
   * @return the scalar MSE (differentiable when called inside a gradient collector)
   */
  public static NDArray loss(
      Generator g,
      ParameterStore ps,
      NDArray x0,
      int[] labels,
      Random rng,
      float dropProb,
      boolean training) {
    NDManager m = x0.getManager();
    Shape s = x0.getShape();
    int b = (int) s.get(0);
    int per = (int) (s.size() / b);
    float[] eps = new float[b * per];
    for (int i = 0; i < eps.length; i++) {
      eps[i] = (float) rng.nextGaussian();
    }
    float[] t = new float[b];
    float[] y = new float[b];
    for (int i = 0; i < b; i++) {
      t[i] = (float) (1.0 / (1.0 + Math.exp(-rng.nextGaussian())));
      y[i] = rng.nextFloat() < dropProb ? g.config().nullClass() : labels[i];
    }
    NDArray e = m.create(eps, s);
    NDArray tt = m.create(t);
    NDArray tb = tt.reshape(b, 1, 1);
    NDArray xt = x0.mul(tb.neg().add(1f)).add(e.mul(tb));
    NDArray target = e.sub(x0);
    NDArray v = g.forward(ps, new NDList(xt, tt, m.create(y)), training).singletonOrThrow();
    return v.sub(target).square().mean();
  }
}
