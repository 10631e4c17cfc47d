package io.softstream.model.generator;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
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
   * Samples one latent set per label: every image is a {@link Trajectory}, all stepped together.
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
    List<Trajectory> batch = new ArrayList<>(labels.length);
    for (int i = 0; i < labels.length; i++) {
      batch.add(start(labels[i], seeds[i], s));
    }
    while (step(manager, batch) > 0) {
      // every trajectory has the same grid: all finish together
    }
    int per = g.config().tokens() * g.config().codeDim();
    float[] out = new float[labels.length * per];
    for (int i = 0; i < labels.length; i++) {
      System.arraycopy(tokens(batch.get(i)), 0, out, i * per, per);
    }
    return out;
  }

  /**
   * One image being sampled: its label, settings, noise generator, time grid and latents so far.
   * Its result depends only on these, not on which other trajectories share its steps (continuous
   * batching: trajectories may join and leave a batch at any step).
   */
  public static final class Trajectory {
    private final int label;
    private final Settings settings;
    private final Random rng;
    private final float[] grid;
    private float[] x;
    private int step;

    private Trajectory(int label, Settings settings, Random rng, float[] grid, float[] x) {
      this.label = label;
      this.settings = settings;
      this.rng = rng;
      this.grid = grid;
      this.x = x;
    }

    /** True once it reached t = 0. */
    public boolean done() {
      return step + 1 >= grid.length;
    }

    /** Forward passes still to run (two per step for Heun). */
    public int stepsLeft() {
      return grid.length - 1 - step;
    }
  }

  /** A trajectory at t = 1: noise drawn from {@code Random(seed)}. */
  public Trajectory start(int label, long seed, Settings s) {
    GeneratorConfig c = g.config();
    if (label < 0 || label > c.numClasses()) {
      throw new IllegalArgumentException("label " + label + " outside [0, " + c.numClasses() + "]");
    }
    int per = c.tokens() * c.codeDim();
    Random rng = new Random(seed);
    float[] x = new float[per];
    for (int j = 0; j < per; j++) {
      x[j] = (float) rng.nextGaussian();
    }
    return new Trajectory(label, s, rng, grid(s), x);
  }

  /**
   * Advances every trajectory of {@code batch} that is not done by one step of its own grid, in one
   * forward pass for all of them (plus one for the Heun ones' second evaluation). Trajectories may
   * differ in label, step count, position on their grid, guidance and method.
   *
   * @return how many trajectories are still not done
   */
  public int step(NDManager manager, List<Trajectory> batch) {
    List<Trajectory> live = new ArrayList<>(batch.size());
    for (Trajectory tr : batch) {
      if (!tr.done()) {
        live.add(tr);
      }
    }
    int b = live.size();
    if (b == 0) {
      return 0;
    }
    int per = g.config().tokens() * g.config().codeDim();
    float[] t = new float[b];
    float[] tn = new float[b];
    float[] x = new float[b * per];
    for (int i = 0; i < b; i++) {
      Trajectory tr = live.get(i);
      t[i] = tr.grid[tr.step];
      tn[i] = tr.grid[tr.step + 1];
      System.arraycopy(tr.x, 0, x, i * per, per);
    }
    float[] v = velocity(manager, x, t, live);
    // Heun's second evaluation, at the Euler prediction, for the Heun rows only.
    List<Trajectory> heun = new ArrayList<>();
    List<Integer> heunRows = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      if (live.get(i).settings.method() == Method.HEUN) {
        heun.add(live.get(i));
        heunRows.add(i);
      }
    }
    float[] v2 = null;
    if (!heun.isEmpty()) {
      float[] xp = new float[heun.size() * per];
      float[] th = new float[heun.size()];
      for (int k = 0; k < heun.size(); k++) {
        int i = heunRows.get(k);
        float dt = tn[i] - t[i];
        th[k] = tn[i];
        for (int j = 0; j < per; j++) {
          xp[k * per + j] = x[i * per + j] + v[i * per + j] * dt;
        }
      }
      v2 = velocity(manager, xp, th, heun);
    }
    int still = 0;
    for (int i = 0, k = 0; i < b; i++) {
      Trajectory tr = live.get(i);
      float ti = t[i];
      float dt = tn[i] - ti;
      float[] next = new float[per];
      int o = i * per;
      Method m = tr.settings.method();
      boolean lastSde = m == Method.SDE && tr.step + 2 == tr.grid.length;
      if (m == Method.EULER || lastSde) {
        for (int j = 0; j < per; j++) {
          next[j] = x[o + j] + v[o + j] * dt;
        }
      } else if (m == Method.HEUN) {
        int o2 = k++ * per;
        for (int j = 0; j < per; j++) {
          next[j] = x[o + j] + (v[o + j] + v2[o2 + j]) * (dt * 0.5f);
        }
      } else {
        // Reverse-time SDE step: drift v - (w/2) score, noise sqrt(w |dt|), w(t) = 2t.
        float w = 2f * ti;
        double amp = Math.sqrt(w * Math.abs(dt));
        for (int j = 0; j < per; j++) {
          float score = (x[o + j] + v[o + j] * (1f - ti)) / -ti;
          float drift = v[o + j] - score * (0.5f * w);
          next[j] = x[o + j] + drift * dt + (float) (tr.rng.nextGaussian() * amp);
        }
      }
      tr.x = next;
      tr.step++;
      still += tr.done() ? 0 : 1;
    }
    return still;
  }

  /** The de-normalised tokens {@code [N, d]} of a finished trajectory, ready for the decoder. */
  public float[] tokens(Trajectory tr) {
    if (!tr.done()) {
      throw new IllegalStateException("trajectory not finished: " + tr.stepsLeft() + " steps left");
    }
    GeneratorConfig c = g.config();
    float[] out = new float[tr.x.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = tr.x[i] * c.latentStd() + c.latentMean();
    }
    return out;
  }

  /**
   * The guided velocity of each row of {@code x} at its own time, in one forward pass: the
   * conditional rows, then a null-class row for each row guided at its time.
   */
  private float[] velocity(NDManager manager, float[] x, float[] t, List<Trajectory> rows) {
    GeneratorConfig c = g.config();
    int b = rows.size();
    int per = c.tokens() * c.codeDim();
    int guided = 0;
    for (int i = 0; i < b; i++) {
      guided += guides(rows.get(i).settings, t[i]) ? 1 : 0;
    }
    int n = b + guided;
    float[] xx = x.length == n * per ? x : java.util.Arrays.copyOf(x, n * per);
    float[] tt = java.util.Arrays.copyOf(t, n);
    float[] y = new float[n];
    int[] nullRow = new int[b];
    for (int i = 0, u = b; i < b; i++) {
      y[i] = rows.get(i).label;
      nullRow[i] = -1;
      if (guides(rows.get(i).settings, t[i])) {
        System.arraycopy(x, i * per, xx, u * per, per);
        tt[u] = t[i];
        y[u] = c.nullClass();
        nullRow[i] = u++;
      }
    }
    float[] out;
    try (NDManager sub = manager.newSubManager()) {
      NDArray xa = sub.create(xx, new Shape(n, c.tokens(), c.codeDim()));
      out =
          g.forward(ps, new NDList(xa, sub.create(tt), sub.create(y)), false)
              .singletonOrThrow()
              .toFloatArray();
    }
    for (int i = 0; i < b; i++) {
      if (nullRow[i] >= 0) {
        float s = rows.get(i).settings.guidanceScale();
        int o = i * per;
        int u = nullRow[i] * per;
        for (int j = 0; j < per; j++) {
          out[o + j] = out[u + j] + (out[o + j] - out[u + j]) * s;
        }
      }
    }
    return out;
  }

  /** Classifier-free guidance applies at {@code t} (a scale of 1 needs no null-class pass). */
  private static boolean guides(Settings s, float t) {
    return s.guidanceScale() != 1f && t >= s.guidanceLow() && t <= s.guidanceHigh();
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
