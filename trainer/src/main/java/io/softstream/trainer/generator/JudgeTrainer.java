package io.softstream.trainer.generator;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TeacherClassifier;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.trainer.AdamW;
import io.softstream.trainer.Dataset;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Trains the held-out judge of generated images ({@code models/fmnist-judge}): a {@link
 * TeacherClassifier} (optionally deeper, see its {@code depth}) trained on real Fashion-MNIST
 * training images only, with random shifts and horizontal flips, AdamW, linear warm-up then cosine,
 * label smoothing. It is used by the generator evaluation (class consistency, Fréchet features) and
 * nowhere in the tokenizer's or generators' training.
 *
 * <p>{@code val > 0} holds the last {@code val} training images out and reports accuracy on them
 * (for choosing settings without looking at the test split); the card always records test-split
 * accuracy, overall and per class, and, given a {@code tokenizer}, the accuracy on its
 * reconstructions of the test split.
 *
 * <pre>
 * ./softstream train-judge out=models/fmnist-judge width=48 depth=5 steps=6000 \
 *     tokenizer=models/softvq-fmnist-32
 * </pre>
 */
public final class JudgeTrainer {
  private JudgeTrainer() {}

  /**
   * Settings.
   *
   * @param dataDir Fashion-MNIST IDX folder
   * @param outDir where the judge is written (null: not saved)
   * @param tokenizerDir tokenizer whose reconstructions are also scored (null: skipped)
   * @param width base width (features are 3 * width)
   * @param depth conv layers (3 = the alignment teacher's architecture)
   * @param steps optimiser steps
   * @param batch images per step
   * @param lr peak learning rate
   * @param weightDecay decoupled weight decay of conv/linear weights
   * @param warmup warm-up steps
   * @param shift largest random shift in pixels (0 = none)
   * @param flip random horizontal flips
   * @param smoothing label smoothing
   * @param val training images held out for validation (0 = train on all)
   * @param evalEvery steps between validation lines (0 = only at the end)
   * @param seed seed
   * @param trainLimit first this-many training images (0 = all)
   */
  public record Config(
      Path dataDir,
      Path outDir,
      Path tokenizerDir,
      int width,
      int depth,
      int steps,
      int batch,
      float lr,
      float weightDecay,
      int warmup,
      int shift,
      boolean flip,
      float smoothing,
      int val,
      int evalEvery,
      long seed,
      int trainLimit) {}

  /** Trains, evaluates and (if {@code outDir} is set) saves; returns the metrics. */
  public static Map<String, Object> run(Config c, PrintStream out) throws IOException {
    Dataset all = Dataset.fashionMnist(c.dataDir(), true, c.trainLimit());
    Dataset test = Dataset.fashionMnist(c.dataDir(), false, 0);
    int per = all.channels() * all.size() * all.size();
    int nTrain = all.count() - c.val();
    Dataset train =
        new Dataset(
            java.util.Arrays.copyOf(all.pixels(), nTrain * per),
            java.util.Arrays.copyOf(all.labels(), nTrain),
            all.channels(),
            all.size());
    Dataset val =
        c.val() == 0
            ? null
            : new Dataset(
                java.util.Arrays.copyOfRange(all.pixels(), nTrain * per, all.count() * per),
                java.util.Arrays.copyOfRange(all.labels(), nTrain, all.count()),
                all.channels(),
                all.size());
    Engine engine = Engine.getEngine("PyTorch");
    engine.setRandomSeed((int) c.seed());
    Map<String, Object> metrics = new LinkedHashMap<>();
    try (NDManager root = NDManager.newBaseManager("PyTorch")) {
      TeacherClassifier t =
          ModelDir.newTeacher(c.width(), 10, c.depth(), train.channels(), train.size(), root);
      ParameterStore ps = new ParameterStore(root, false);
      AdamW opt = AdamW.forBlocks(root, List.of(t), 0.9f, 0.999f, c.weightDecay());
      List<NDArray> w = opt.weights();
      long count = opt.parameterCount();
      Random rng = new Random(c.seed());
      int[] order = new int[train.count()];
      int cursor = order.length;
      out.printf(
          "judge: width %d depth %d, %,d parameters, %d steps of %d on %d training images (val %d)%n",
          c.width(), c.depth(), count, c.steps(), c.batch(), train.count(), c.val());
      long t0 = System.nanoTime();
      double win = 0;
      int winN = 0;
      for (int s = 0; s < c.steps(); s++) {
        float[] x = new float[c.batch() * per];
        float[] y = new float[c.batch() * 10];
        float off = c.smoothing() / 10f;
        for (int i = 0; i < c.batch(); i++) {
          if (cursor == order.length) {
            Dataset.shuffledOrder(order, rng);
            cursor = 0;
          }
          int idx = order[cursor++];
          augment(
              train.pixels(),
              idx * per,
              x,
              i * per,
              train.size(),
              c.shift() == 0 ? 0 : rng.nextInt(2 * c.shift() + 1) - c.shift(),
              c.shift() == 0 ? 0 : rng.nextInt(2 * c.shift() + 1) - c.shift(),
              c.flip() && rng.nextBoolean());
          for (int k = 0; k < 10; k++) {
            y[i * 10 + k] = off;
          }
          y[i * 10 + train.labels()[idx]] += 1f - c.smoothing();
        }
        float lr = learningRate(c, s);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray xa =
              root.create(x, new Shape(c.batch(), train.channels(), train.size(), train.size()));
          NDArray ya = root.create(y, new Shape(c.batch(), 10));
          try (GradientCollector gc = engine.newGradientCollector()) {
            NDArray logits = t.forward(ps, new NDList(xa), true).get(0);
            NDArray loss = logits.logSoftmax(-1).mul(ya).sum(new int[] {-1}).mean().neg();
            gc.backward(loss);
            win += loss.getFloat();
            winN++;
          }
          opt.step(lr, 0f);
        }
        if ((s + 1) % 100 == 0) {
          double el = (System.nanoTime() - t0) / 1e9;
          out.printf(
              "step %d/%d loss %.4f lr %.2e | %.1f img/s | ETA %s%n",
              s + 1,
              c.steps(),
              win / winN,
              lr,
              (s + 1) * (double) c.batch() / el,
              GeneratorTrainer.hms(el / (s + 1) * (c.steps() - s - 1)));
          out.flush();
          win = 0;
          winN = 0;
        }
        if (val != null && c.evalEvery() > 0 && (s + 1) % c.evalEvery() == 0 && s + 1 < c.steps()) {
          out.printf(
              "step %d val accuracy %.4f%n",
              s + 1, accuracy(t, ps, root, val.pixels(), val.labels(), val)[10]);
          out.flush();
        }
      }
      w.forEach(a -> a.setRequiresGradient(false));
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (val != null) {
        double v = accuracy(t, ps, root, val.pixels(), val.labels(), val)[10];
        metrics.put("val_accuracy", round(v));
        out.printf("val accuracy %.4f (%d held-out training images)%n", v, val.count());
      }
      double[] acc = accuracy(t, ps, root, test.pixels(), test.labels(), test);
      metrics.put("test_accuracy", round(acc[10]));
      metrics.put("test_accuracy_per_class", perClass(acc));
      out.printf("test accuracy %.4f, per class %s (%.0f s)%n", acc[10], perClass(acc), seconds);
      if (c.tokenizerDir() != null) {
        float[] recon = reconstruct(c.tokenizerDir(), test);
        double[] r = accuracy(t, ps, root, recon, test.labels(), test);
        metrics.put("reconstruction_accuracy", round(r[10]));
        metrics.put("reconstruction_accuracy_per_class", perClass(r));
        metrics.put("reconstruction_tokenizer", c.tokenizerDir().getFileName().toString());
        out.printf(
            "accuracy on %s reconstructions of the test split %.4f, per class %s%n",
            c.tokenizerDir().getFileName(), r[10], perClass(r));
      }
      if (c.outDir() != null) {
        Map<String, Object> config = ModelDir.teacherConfig(t, 10, train.channels(), train.size());
        Map<String, Object> training = new LinkedHashMap<>();
        training.put(
            "data",
            "Fashion-MNIST train split only"
                + (c.val() > 0 ? " (first " + train.count() + ")" : "")
                + ", 32x32 padded, [-1,1]; random shifts up to "
                + c.shift()
                + " px"
                + (c.flip() ? ", horizontal flips" : ""));
        training.put("steps", c.steps());
        training.put("batch_size", c.batch());
        training.put(
            "optimizer",
            "AdamW lr "
                + c.lr()
                + " betas (0.9, 0.999) wd "
                + c.weightDecay()
                + ", warm-up "
                + c.warmup()
                + " + cosine to 0");
        training.put("label_smoothing", c.smoothing());
        training.put("seed", c.seed());
        training.put("seconds", Math.round(seconds));
        training.put("parameters", count);
        training.put(
            "use", "judge of generated images only; never used in tokenizer or generator training");
        ModelCard card =
            new ModelCard(
                ModelCard.FORMAT_VERSION,
                c.outDir().getFileName().toString(),
                ModelCard.KIND_TEACHER,
                config,
                training,
                metrics);
        ModelDir.saveTeacher(c.outDir(), card, t);
        out.printf("saved judge to %s%n", c.outDir());
      }
    }
    return metrics;
  }

  /**
   * Copies one image into {@code dst} shifted by (dx, dy) (background -1 fills in) and optionally
   * mirrored.
   */
  static void augment(
      float[] src, int so, float[] dst, int doff, int size, int dx, int dy, boolean flip) {
    for (int y = 0; y < size; y++) {
      int sy = y - dy;
      for (int x = 0; x < size; x++) {
        int xx = flip ? size - 1 - x : x;
        int sx = xx - dx;
        dst[doff + y * size + x] =
            sy < 0 || sy >= size || sx < 0 || sx >= size ? -1f : src[so + sy * size + sx];
      }
    }
  }

  /** Per-class accuracies [0..9] and the overall one at [10]. */
  static double[] accuracy(
      TeacherClassifier t,
      ParameterStore ps,
      NDManager root,
      float[] px,
      int[] labels,
      Dataset like) {
    int per = like.channels() * like.size() * like.size();
    int n = labels.length;
    int[] hit = new int[10];
    int[] seen = new int[10];
    for (int from = 0; from < n; from += 500) {
      int b = Math.min(500, n - from);
      try (NDManager sub = root.newSubManager()) {
        NDArray x =
            sub.create(
                java.util.Arrays.copyOfRange(px, from * per, (from + b) * per),
                new Shape(b, like.channels(), like.size(), like.size()));
        long[] pred = t.forward(ps, new NDList(x), false).get(0).argMax(-1).toLongArray();
        for (int i = 0; i < b; i++) {
          int l = labels[from + i];
          seen[l]++;
          hit[l] += pred[i] == l ? 1 : 0;
        }
      }
    }
    double[] r = new double[11];
    int hits = 0;
    for (int k = 0; k < 10; k++) {
      r[k] = seen[k] == 0 ? 0 : hit[k] / (double) seen[k];
      hits += hit[k];
    }
    r[10] = hits / (double) n;
    return r;
  }

  /** The tokenizer's round trip of {@code data}. */
  static float[] reconstruct(Path tokenizerDir, Dataset data) {
    int per = data.channels() * data.size() * data.size();
    float[] out = new float[data.count() * per];
    try (TokenizerRuntime tok =
        TokenizerRuntimes.open(tokenizerDir, EngineKind.PYTORCH, TokenizerRuntimes.Part.BOTH)) {
      for (int from = 0; from < data.count(); from += 250) {
        int n = Math.min(250, data.count() - from);
        float[] in = java.util.Arrays.copyOfRange(data.pixels(), from * per, (from + n) * per);
        System.arraycopy(tok.decode(tok.encode(in, n).values(), n), 0, out, from * per, n * per);
      }
    }
    return out;
  }

  static float learningRate(Config c, int step) {
    return AdamW.warmupCosine(c.lr(), 0f, c.warmup(), c.steps(), step);
  }

  private static List<Double> perClass(double[] acc) {
    List<Double> l = new ArrayList<>();
    for (int k = 0; k < 10; k++) {
      l.add(round(acc[k]));
    }
    return l;
  }

  private static double round(double v) {
    return Math.round(v * 1e4) / 1e4;
  }

  /**
   * The config for {@code key=value} settings: {@code out}, {@code tokenizer}, {@code data}
   * (default /usr/share/datasets/fashion-mnist), {@code width} (48), {@code depth} (5), {@code
   * steps} (6000), {@code batch} (128), {@code lr} (2e-3), {@code wd} (0.05), {@code warmup} (200),
   * {@code shift} (2), {@code flip} (true), {@code smoothing} (0.1), {@code val} (0), {@code
   * eval_every} (500), {@code seed} (11), {@code train_limit} (0).
   */
  public static Config config(Map<String, String> a) {
    return new Config(
        Path.of(a.getOrDefault("data", "/usr/share/datasets/fashion-mnist")),
        a.containsKey("out") ? Path.of(a.get("out")) : null,
        a.containsKey("tokenizer") ? Path.of(a.get("tokenizer")) : null,
        Integer.parseInt(a.getOrDefault("width", "48")),
        Integer.parseInt(a.getOrDefault("depth", "5")),
        Integer.parseInt(a.getOrDefault("steps", "6000")),
        Integer.parseInt(a.getOrDefault("batch", "128")),
        Float.parseFloat(a.getOrDefault("lr", "2e-3")),
        Float.parseFloat(a.getOrDefault("wd", "0.05")),
        Integer.parseInt(a.getOrDefault("warmup", "200")),
        Integer.parseInt(a.getOrDefault("shift", "2")),
        Boolean.parseBoolean(a.getOrDefault("flip", "true")),
        Float.parseFloat(a.getOrDefault("smoothing", "0.1")),
        Integer.parseInt(a.getOrDefault("val", "0")),
        Integer.parseInt(a.getOrDefault("eval_every", "500")),
        Long.parseLong(a.getOrDefault("seed", "11")),
        Integer.parseInt(a.getOrDefault("train_limit", "0")));
  }

  /** Java entry point; {@code softstream train-judge} is the command line. */
  public static void main(String[] args) throws Exception {
    System.out.println(
        ModelCard.JSON.writeValueAsString(run(config(GeneratorMain.keyValues(args)), System.out)));
  }
}
