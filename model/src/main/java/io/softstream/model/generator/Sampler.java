package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.Locale;
import java.util.Random;

/**
 * Integrates the learned velocity field from noise ({@code t = 1}) to latents ({@code t = 0}).
 *
 * <p>Methods: deterministic Euler and Heun on a uniform grid, and Euler–Maruyama on the reverse SDE
 * of the same marginals (as REPA's {@code euler_maruyama_sampler}: diffusion {@code w(t) = 2t},
 * drift {@code v - w/2 * score}, {@code score = -(x + (1 - t) v) / t}, grid {@code 1 -> 0.04}, then
 * one deterministic step to 0). Classifier-free guidance {@code v = v_null + s (v_cond - v_null)}
 * is applied only while {@code t} lies in {@code [guidanceLow, guidanceHigh]}; outside, or with
 * {@code s = 1}, the conditional velocity is used alone (one forward pass instead of two).
 *
 * <p>Every image draws its starting noise and its SDE noise from its own {@code Random(seed)}, so
 * an image depends only on its seed, label and settings, not on the other images of the batch (up
 * to floating-point differences between batch sizes). Not thread-safe.
 */
public final class Sampler {
  /**
   * Default classifier-free guidance scale of the CLI, the demo and the evaluation (chosen from the
   * measured guidance curve in {@code models/gen-fmnist-32/README.md}); a {@code GenerationRequest}
   * carries its own.
   */
  public static final float DEFAULT_GUIDANCE = 4f;

  /** Default integration steps of the CLI, the demo and the evaluation. */
  public static final int DEFAULT_STEPS = 50;

  /** Integration method. */
  public enum Method {
    EULER,
    HEUN,
    SDE;

    /** Parses "euler", "heun" or "sde" (any case). */
    public static Method parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "Unknown sampler '" + s + "': use euler, heun or sde", e);
      }
    }
  }

  /**
   * Sampler settings.
   *
   * @param method integration method
   * @param steps integration steps (each costs one forward pass, two for Heun; guidance doubles the
   *     batch)
   * @param guidanceScale classifier-free guidance scale s (1 = none, 0 = unconditional)
   * @param guidanceLow guidance applies for t >= this
   * @param guidanceHigh guidance applies for t <= this
   */
  public record Settings(
      Method method, int steps, float guidanceScale, float guidanceLow, float guidanceHigh) {
    /** Checks the values. */
    public Settings {
      if (method == null) {
        throw new IllegalArgumentException("method must be set");
      }
      if (steps < 1) {
        throw new IllegalArgumentException("steps must be >= 1, got " + steps);
      }
      if (!Float.isFinite(guidanceScale) || guidanceScale < 0) {
        throw new IllegalArgumentException(
            "guidance scale must be finite and >= 0, got " + guidanceScale);
      }
      if (!(guidanceLow >= 0 && guidanceLow <= guidanceHigh && guidanceHigh <= 1)) {
        throw new IllegalArgumentException(
            "guidance interval must satisfy 0 <= low <= high <= 1, got ["
                + guidanceLow
                + ", "
                + guidanceHigh
                + "]");
      }
    }

    /** Guidance over the whole trajectory. */
    public static Settings of(Method method, int steps, float guidanceScale) {
      return new Settings(method, steps, guidanceScale, 0f, 1f);
    }
  }

  private static final float SDE_LAST_T = 0.04f;

  private final Generator g;
  private final ParameterStore ps;

  /** A sampler for {@code g}, reading its parameters through {@code ps}. */
  public Sampler(Generator g, ParameterStore ps) {
    this.g = g;
    this.ps = ps;
  }

  /** The seed of image {@code index} of a request seeded with {@code seed} (a SplitMix64 mix). */
  public static long imageSeed(long seed, int index) {
    long z = seed + 0x9E3779B97F4A7C15L * (index + 1L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * The guided velocity at one time, {@code [B, N, d]}.
   *
   * @param x normalised latents {@code [B, N, d]}
   * @param labels class ids
   */
  public NDArray velocity(NDArray x, float t, int[] labels, float scale, boolean guide) {
    NDManager m = x.getManager();
    int b = labels.length;
    float[] y = new float[guide && scale != 1f ? 2 * b : b];
    for (int i = 0; i < b; i++) {
      y[i] = labels[i];
      if (y.length > b) {
        y[b + i] = g.config().nullClass();
      }
    }
    NDArray xx = y.length > b ? x.concat(x, 0) : x;
    float[] tt = new float[y.length];
    java.util.Arrays.fill(tt, t);
    NDArray v = g.forward(ps, new NDList(xx, m.create(tt), m.create(y)), false).singletonOrThrow();
    if (y.length == b) {
      return v;
    }
    NDList parts = v.split(2, 0);
    NDArray vc = parts.get(0);
    NDArray vu = parts.get(1);
    return vu.add(vc.sub(vu).mul(scale));
  }

  /**
   * Samples one latent set per label.
   *
   * @param labels class ids in {@code [0, numClasses)} (or the null class for unconditional
   *     samples)
   * @param seeds one seed per image (see {@link #imageSeed})
   * @return tokens {@code [B, N, d]} row-major, de-normalised ({@code x * std + mean}), ready for
   *     the decoder
   */
  public float[] sample(NDManager manager, int[] labels, long[] seeds, Settings s) {
    if (labels.length != seeds.length) {
      throw new IllegalArgumentException(labels.length + " labels but " + seeds.length + " seeds");
    }
    GeneratorConfig c = g.config();
    for (int l : labels) {
      if (l < 0 || l > c.numClasses()) {
        throw new IllegalArgumentException("label " + l + " outside [0, " + c.numClasses() + "]");
      }
    }
    int b = labels.length;
    int per = c.tokens() * c.codeDim();
    Shape shape = new Shape(b, c.tokens(), c.codeDim());
    Random[] rngs = new Random[b];
    float[] x = new float[b * per];
    for (int i = 0; i < b; i++) {
      rngs[i] = new Random(seeds[i]);
      for (int j = 0; j < per; j++) {
        x[i * per + j] = (float) rngs[i].nextGaussian();
      }
    }
    float[] grid = grid(s);
    for (int i = 0; i + 1 < grid.length; i++) {
      float t = grid[i];
      float tn = grid[i + 1];
      float dt = tn - t;
      boolean guide = t >= s.guidanceLow() && t <= s.guidanceHigh();
      try (NDManager sub = manager.newSubManager()) {
        NDArray xa = sub.create(x, shape);
        NDArray v = velocity(xa, t, labels, s.guidanceScale(), guide);
        NDArray next;
        boolean lastSde = s.method() == Method.SDE && i + 2 == grid.length;
        if (s.method() == Method.EULER || lastSde) {
          next = xa.add(v.mul(dt));
        } else if (s.method() == Method.HEUN) {
          NDArray xp = xa.add(v.mul(dt));
          boolean guideN = tn >= s.guidanceLow() && tn <= s.guidanceHigh();
          NDArray v2 = velocity(xp, tn, labels, s.guidanceScale(), guideN);
          next = xa.add(v.add(v2).mul(dt * 0.5f));
        } else {
          // Reverse-time SDE step: drift v - (w/2) score, noise sqrt(w |dt|), w(t) = 2t.
          float w = 2f * t;
          NDArray score = xa.add(v.mul(1f - t)).div(-t);
          NDArray drift = v.sub(score.mul(0.5f * w));
          float[] noise = new float[b * per];
          double amp = Math.sqrt(w * Math.abs(dt));
          for (int k = 0; k < b; k++) {
            for (int j = 0; j < per; j++) {
              noise[k * per + j] = (float) (rngs[k].nextGaussian() * amp);
            }
          }
          next = xa.add(drift.mul(dt)).add(sub.create(noise, shape));
        }
        x = next.toFloatArray();
      }
    }
    for (int i = 0; i < x.length; i++) {
      x[i] = x[i] * c.latentStd() + c.latentMean();
    }
    return x;
  }

  /** Times from 1 down to 0, {@code steps + 1} of them. */
  static float[] grid(Settings s) {
    int n = s.steps();
    float[] t = new float[n + 1];
    if (s.method() == Method.SDE) {
      for (int i = 0; i < n; i++) {
        t[i] = n == 1 ? 1f : 1f - (1f - SDE_LAST_T) * i / (n - 1);
      }
    } else {
      for (int i = 0; i < n; i++) {
        t[i] = 1f - (float) i / n;
      }
    }
    t[n] = 0f;
    return t;
  }
}
