package io.softstream.trainer.generator;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import io.softstream.model.generator.FlowMatching;
import io.softstream.model.generator.Generator;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.PixelPatches;
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
 * Trains a class-conditional generator on the Fashion-MNIST training split encoded by a tokenizer:
 * encode the split in batches, measure the latents' scalar mean and std, train {@link Generator}
 * with {@link FlowMatching} (the trainer's {@link AdamW} with betas (0.9, 0.999), linear warm-up
 * then cosine, EMA, gradient clipping, seeded), save the EMA weights as a generator directory.
 *
 * <pre>{@code
 * GeneratorTrainer.Report r = GeneratorTrainer.run(GeneratorTrainConfig.fashionMnist(tok, data, out, 20000), System.out);
 * }</pre>
 */
public final class GeneratorTrainer {
  private GeneratorTrainer() {}

  /**
   * What a run produced.
   *
   * @param dir the saved generator directory
   * @param losses mean loss of each logging window, in order
   * @param latentMean measured latent mean
   * @param latentStd measured latent std
   * @param parameters number of trained scalars
   * @param seconds wall time of the training loop (encoding excluded)
   * @param imagesPerSecond training throughput
   */
  public record Report(
      Path dir,
      List<Double> losses,
      float latentMean,
      float latentStd,
      long parameters,
      double seconds,
      double imagesPerSecond) {}

  /** Encodes {@code data} with the tokenizer in {@code dir}: {@code n * N * d} floats. */
  public static float[] encode(Path tokenizerDir, Dataset data, int batch) {
    try (TokenizerRuntime tok =
        TokenizerRuntimes.open(tokenizerDir, EngineKind.PYTORCH, TokenizerRuntimes.Part.ENCODER)) {
      int per = data.channels() * data.size() * data.size();
      int tokPer = tok.config().tokens() * tok.config().codeDim();
      float[] out = new float[data.count() * tokPer];
      for (int from = 0; from < data.count(); from += batch) {
        int n = Math.min(batch, data.count() - from);
        float[] px = java.util.Arrays.copyOfRange(data.pixels(), from * per, (from + n) * per);
        System.arraycopy(tok.encode(px, n).values(), 0, out, from * tokPer, n * tokPer);
      }
      return out;
    }
  }

  /** Runs {@code cfg}, printing progress lines to {@code out}. */
  public static Report run(GeneratorTrainConfig cfg, PrintStream out) throws IOException {
    Dataset train = Dataset.fashionMnist(cfg.dataDir(), true, cfg.trainLimit());
    long te = System.nanoTime();
    float[] lat;
    int tokens;
    int dim;
    String tokenizerName;
    try (TokenizerRuntime tok =
        TokenizerRuntimes.open(
            cfg.tokenizerDir(), EngineKind.PYTORCH, TokenizerRuntimes.Part.ENCODER)) {
      tokens = tok.config().tokens();
      dim = tok.config().codeDim();
      tokenizerName = tok.card().name();
      if (tok.config().imageSize() != train.size() || tok.config().channels() != train.channels()) {
        throw new IllegalArgumentException(
            "Tokenizer "
                + cfg.tokenizerDir()
                + " expects "
                + tok.config().channels()
                + "x"
                + tok.config().imageSize()
                + " images; the data set has "
                + train.channels()
                + "x"
                + train.size());
      }
    }
    lat = encode(cfg.tokenizerDir(), train, cfg.encodeBatch());
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("tokenizer", tokenizerName);
    source.put("tokenizer_dir", cfg.tokenizerDir().toString());
    source.put(
        "data",
        "Fashion-MNIST train split"
            + (cfg.trainLimit() > 0 ? " (first " + train.count() + ")" : "")
            + ", encoded by the tokenizer, normalised by latent_mean/latent_std");
    return train(
        cfg, lat, train, tokens, dim, GeneratorConfig.POS_1D, source, tokenizerName, te, out);
  }

  /**
   * The 2-D baseline: trains the same architecture on the pixel-patch grid of the same images
   * ({@code tokenizerDir} is ignored), with a 2-D sine-cosine position embedding; the card records
   * the patch geometry under {@code training.latent}.
   */
  public static Report runPixels(GeneratorTrainConfig cfg, int patchSize, PrintStream out)
      throws IOException {
    Dataset train = Dataset.fashionMnist(cfg.dataDir(), true, cfg.trainLimit());
    long te = System.nanoTime();
    PixelPatches pp = new PixelPatches(train.size(), patchSize, train.channels());
    float[] lat = pp.patchify(train.pixels(), train.count());
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("latent", pp.toCard());
    source.put(
        "data",
        "Fashion-MNIST train split"
            + (cfg.trainLimit() > 0 ? " (first " + train.count() + ")" : "")
            + ", 32x32 padded pixels in [-1, 1] cut into "
            + patchSize
            + "x"
            + patchSize
            + " patches, normalised by latent_mean/latent_std");
    return train(
        cfg,
        lat,
        train,
        pp.tokens(),
        pp.codeDim(),
        GeneratorConfig.POS_2D,
        source,
        "pixel patches " + patchSize + "x" + patchSize,
        te,
        out);
  }

  private static Report train(
      GeneratorTrainConfig cfg,
      float[] lat,
      Dataset train,
      int tokens,
      int dim,
      String posEmbed,
      Map<String, Object> source,
      String tokenizerName,
      long te,
      PrintStream out)
      throws IOException {
    double sum = 0;
    double sq = 0;
    for (float v : lat) {
      sum += v;
      sq += (double) v * v;
    }
    float mean = (float) (sum / lat.length);
    float std =
        (float)
            Math.sqrt(Math.max(1e-12, sq / lat.length - (sum / lat.length) * (sum / lat.length)));
    for (int i = 0; i < lat.length; i++) {
      lat[i] = (lat[i] - mean) / std;
    }
    out.printf(
        "encoded %d training images with %s in %.1f s: latents %dx%d, mean %.4f std %.4f%n",
        train.count(), tokenizerName, (System.nanoTime() - te) / 1e9, tokens, dim, mean, std);

    GeneratorConfig gc =
        new GeneratorConfig(
            tokens,
            dim,
            cfg.hidden(),
            cfg.depth(),
            cfg.heads(),
            cfg.mlpRatio(),
            cfg.numClasses(),
            mean,
            std,
            posEmbed);
    Engine engine = Engine.getEngine("PyTorch");
    engine.setRandomSeed((int) cfg.seed());
    try (NDManager root = NDManager.newBaseManager("PyTorch")) {
      Generator g = GeneratorDir.newGenerator(gc, root);
      ParameterStore ps = new ParameterStore(root, false);
      AdamW opt = AdamW.forBlocks(root, List.of(g), 0.9f, 0.999f, cfg.weightDecay());
      List<NDArray> weights = opt.weights();
      long count = opt.parameterCount();
      Ema ema = cfg.emaDecay() > 0 ? new Ema(weights, cfg.emaDecay()) : null;
      Random rng = new Random(cfg.seed());
      int[] order = new int[train.count()];
      int cursor = order.length;
      int per = tokens * dim;
      List<Double> history = new ArrayList<>();
      double win = 0;
      int winN = 0;
      long t0 = System.nanoTime();
      long tWin = t0;
      out.printf(
          "training %s: %,d parameters, %d steps of %d%n",
          cfg.name(), count, cfg.steps(), cfg.batchSize());
      for (int step = 0; step < cfg.steps(); step++) {
        float[] x = new float[cfg.batchSize() * per];
        int[] labels = new int[cfg.batchSize()];
        for (int i = 0; i < cfg.batchSize(); i++) {
          if (cursor == order.length) {
            Dataset.shuffledOrder(order, rng);
            cursor = 0;
          }
          int idx = order[cursor++];
          System.arraycopy(lat, idx * per, x, i * per, per);
          labels[i] = train.labels()[idx];
        }
        float lr = learningRate(cfg, step);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray x0 = root.create(x, new Shape(cfg.batchSize(), tokens, dim));
          float lossV;
          try (GradientCollector gcol = engine.newGradientCollector()) {
            NDArray loss = FlowMatching.loss(g, ps, x0, labels, rng, cfg.labelDrop(), true);
            gcol.backward(loss);
            lossV = loss.getFloat();
          }
          opt.step(lr, cfg.gradClip());
          if (ema != null) {
            ema.update(opt.stepCount());
          }
          if (!Float.isFinite(lossV)) {
            throw new IllegalStateException(
                "loss became "
                    + lossV
                    + " at step "
                    + step
                    + " (lr "
                    + lr
                    + "): lower lr or raise warm-up");
          }
          win += lossV;
          winN++;
        }
        if ((step + 1) % cfg.logEvery() == 0 || step + 1 == cfg.steps()) {
          long now = System.nanoTime();
          double ips = winN * (double) cfg.batchSize() / ((now - tWin) / 1e9);
          double elapsed = (now - t0) / 1e9;
          double eta = elapsed / (step + 1) * (cfg.steps() - step - 1);
          history.add(win / winN);
          out.printf(
              "step %d/%d loss %.5f lr %.2e | %.1f img/s | ETA %s%n",
              step + 1, cfg.steps(), win / winN, lr, ips, hms(eta));
          out.flush();
          win = 0;
          winN = 0;
          tWin = now;
        }
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (ema != null) {
        ema.applyTo(weights);
      }
      Map<String, Object> training = new LinkedHashMap<>();
      training.putAll(source);
      training.put(
          "objective",
          "flow matching, linear interpolant, velocity MSE, t = sigmoid(N(0,1)), label drop "
              + cfg.labelDrop());
      training.put("steps", cfg.steps());
      training.put("batch_size", cfg.batchSize());
      training.put(
          "optimizer",
          "AdamW lr "
              + cfg.lr()
              + " betas (0.9, 0.999) wd "
              + cfg.weightDecay()
              + ", warm-up "
              + cfg.warmupSteps()
              + " + cosine to "
              + cfg.minLr()
              + ", grad clip "
              + cfg.gradClip());
      training.put("ema_decay", cfg.emaDecay());
      training.put("seed", cfg.seed());
      training.put("seconds", Math.round(seconds));
      training.put("parameters", count);
      training.put("final_loss", history.get(history.size() - 1));
      ModelCard card = GeneratorDir.card(cfg.name(), gc, training, Map.of());
      GeneratorDir.save(cfg.outDir(), card, g);
      out.printf(
          "saved %s to %s (%.0f s, %.1f img/s)%n",
          cfg.name(), cfg.outDir(), seconds, cfg.steps() * (double) cfg.batchSize() / seconds);
      return new Report(
          cfg.outDir(),
          history,
          mean,
          std,
          count,
          seconds,
          cfg.steps() * (double) cfg.batchSize() / seconds);
    }
  }

  /**
   * Exponential moving average of the weights, with the decay warmed up as {@code min(decay, (1 +
   * t) / (10 + t))}.
   */
  static final class Ema {
    private final List<NDArray> weights;
    private final List<NDArray> avg = new ArrayList<>();
    private final float decay;

    Ema(List<NDArray> weights, float decay) {
      this.weights = weights;
      this.decay = decay;
      for (NDArray w : weights) {
        avg.add(w.duplicate());
      }
    }

    /** Folds the current weights in after optimiser step {@code t} (1-based). */
    void update(long t) {
      float d = Math.min(decay, (1f + t) / (10f + t));
      for (int i = 0; i < avg.size(); i++) {
        avg.get(i).muli(d).addi(weights.get(i).mul(1 - d));
      }
    }

    /** Copies the average into {@code target}. */
    void applyTo(List<NDArray> target) {
      for (int i = 0; i < avg.size(); i++) {
        avg.get(i).copyTo(target.get(i));
      }
    }
  }

  /** Linear warm-up, then cosine from lr to min_lr. */
  static float learningRate(GeneratorTrainConfig cfg, int step) {
    return AdamW.warmupCosine(cfg.lr(), cfg.minLr(), cfg.warmupSteps(), cfg.steps(), step);
  }

  static String hms(double s) {
    long t = Math.round(s);
    return String.format("%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  }
}
