package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with decoupled weight decay (PyTorch semantics) and global-norm gradient clipping. Written
 * here rather than using DJL's optimizer so its state can be checkpointed and resumed bit-exactly.
 * Used by the tokenizer trainer, the generator trainer and the judge trainer.
 */
public final class AdamW {
  private final List<NDArray> weights;
  private final boolean[] decay;
  private final NDList m = new NDList();
  private final NDList v = new NDList();
  private final float beta1;
  private final float beta2;
  private final float weightDecay;
  private long t;

  public AdamW(
      NDManager manager,
      List<NDArray> weights,
      boolean[] decay,
      float beta1,
      float beta2,
      float weightDecay) {
    this.weights = weights;
    this.decay = decay;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.weightDecay = weightDecay;
    for (NDArray w : weights) {
      m.add(manager.zeros(w.getShape()));
      v.add(manager.zeros(w.getShape()));
    }
  }

  /**
   * AdamW over every parameter of {@code blocks}, in order, made trainable (requires gradient);
   * weight decay applies to weight matrices only, not to biases, norms or embeddings.
   */
  public static AdamW forBlocks(
      NDManager manager,
      List<? extends Block> blocks,
      float beta1,
      float beta2,
      float weightDecay) {
    List<NDArray> weights = new ArrayList<>();
    List<Boolean> decays = new ArrayList<>();
    for (Block b : blocks) {
      for (var p : b.getParameters()) {
        NDArray w = p.getValue().getArray();
        w.setRequiresGradient(true);
        weights.add(w);
        decays.add(p.getValue().getType() == Parameter.Type.WEIGHT);
      }
    }
    boolean[] decay = new boolean[decays.size()];
    for (int i = 0; i < decay.length; i++) {
      decay[i] = decays.get(i);
    }
    return new AdamW(manager, weights, decay, beta1, beta2, weightDecay);
  }

  /**
   * Learning rate at {@code step}: linear warm-up to {@code lr}, then cosine down to {@code minLr}
   * at {@code steps}.
   */
  public static float warmupCosine(float lr, float minLr, int warmupSteps, int steps, int step) {
    if (step < warmupSteps) {
      return lr * (step + 1) / warmupSteps;
    }
    double prog = (step - warmupSteps) / (double) Math.max(1, steps - warmupSteps);
    return (float) (minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * Math.min(1, prog))));
  }

  /** The arrays this optimiser updates, in parameter order. */
  public List<NDArray> weights() {
    return weights;
  }

  /** Number of scalar parameters updated. */
  public long parameterCount() {
    long n = 0;
    for (NDArray w : weights) {
      n += w.size();
    }
    return n;
  }

  /**
   * Clips gradients to {@code maxNorm} (if > 0), applies one update at {@code lr}, zeroes the
   * gradients, and returns the pre-clip norm. A non-finite norm skips the update (weights, moments
   * and step count untouched) so one bad batch cannot poison the weights; the caller counts these.
   */
  public float step(float lr, float maxNorm) {
    double sq = 0;
    for (NDArray w : weights) {
      sq += w.getGradient().square().sum().getFloat();
    }
    float norm = (float) Math.sqrt(sq);
    if (!Float.isFinite(norm)) {
      for (NDArray w : weights) {
        // Zero in place (index put of a scalar). NOT g.set(float[]): on PyTorch that makes the
        // gradient's storage a direct buffer owned by this temporary wrapper, which the GC frees
        // while backward keeps accumulating into it (heap corruption, SIGSEGV a few steps later).
        w.getGradient().set(new NDIndex("..."), 0f);
      }
      return norm;
    }
    float scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6f) : 1f;
    t++;
    float bc1 = (float) (1 - Math.pow(beta1, t));
    float bc2 = (float) (1 - Math.pow(beta2, t));
    for (int i = 0; i < weights.size(); i++) {
      NDArray w = weights.get(i);
      NDArray g = w.getGradient();
      if (scale != 1f) {
        g.muli(scale);
      }
      if (decay[i] && weightDecay > 0) {
        w.muli(1 - lr * weightDecay);
      }
      m.get(i).muli(beta1).addi(g.mul(1 - beta1));
      v.get(i).muli(beta2).addi(g.square().mul(1 - beta2));
      NDArray denom = v.get(i).div(bc2).sqrt().add(1e-8f);
      w.subi(m.get(i).div(bc1).div(denom).mul(lr));
      g.subi(g);
    }
    return norm;
  }

  /**
   * Copies {@code from}'s values into {@code to}'s own storage (an index put), not {@code
   * to.set(float[])}, which on PyTorch swaps the tensor's storage for a direct buffer. With that,
   * and the checkpoint's decoded arrays left open, every resumed photo run skipped a third of its
   * steps as non-finite gradients, a different third in every process for the same weights and
   * batch; copied so and with the decoded arrays closed, 1 in 50 (restoring nothing: 0 in 50).
   * Those and the clusters of skips in long runs were constants of the graph freed before the
   * backward pass, see {@link io.softstream.model.Scalars}.
   */
  static void copyInPlace(NDArray from, NDArray to) {
    to.set(new NDIndex("..."), from);
  }

  public long stepCount() {
    return t;
  }

  /** State as one list: m..., v..., then a 1-element step counter. */
  NDList state(NDManager manager) {
    NDList s = new NDList();
    s.addAll(m);
    s.addAll(v);
    s.add(manager.create(new long[] {t}));
    return s;
  }

  void load(NDList s) {
    int n = weights.size();
    if (s.size() != 2 * n + 1) {
      throw new IllegalArgumentException(
          "Optimizer state has " + s.size() + " arrays, expected " + (2 * n + 1));
    }
    for (int i = 0; i < n; i++) {
      copyInPlace(s.get(i), m.get(i));
      copyInPlace(s.get(n + i), v.get(i));
    }
    t = s.get(2 * n).toLongArray()[0];
  }
}
