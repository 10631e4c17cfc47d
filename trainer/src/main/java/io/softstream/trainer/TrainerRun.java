package io.softstream.trainer;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.Pair;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.Quantizer;
import io.softstream.model.Scalars;
import io.softstream.model.TeacherClassifier;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The one training entry point: trains the alignment teacher when needed, then the tokenizer,
 * checkpoints, writes the model directory and evaluates it.
 *
 * <p>Loss = MSE(x, x̂) + quantizer aux loss (soft VQ entropy term / hard VQ codebook+commitment) +
 * alignWeight * (-cos(MLP(zq) token-repeated, teacher patch features)).
 */
public final class TrainerRun {
  private static final int CHECKPOINT_VERSION = 1;
  private static final int TEACHER_BATCH = 128;
  private static final int HOG_BINS = 9;

  private TrainerRun() {}

  /** Runs {@code cfg}, printing progress to stdout. */
  public static TrainingReport run(TrainConfig cfg) throws IOException, MalformedModelException {
    return run(cfg, System.out);
  }

  /** Runs {@code cfg}, printing one progress line per {@code log_every} steps to {@code out}. */
  public static TrainingReport run(TrainConfig cfg, PrintStream out)
      throws IOException, MalformedModelException {
    return run(cfg, out, null);
  }

  /**
   * As {@link #run(TrainConfig, PrintStream)}, training on {@code trainData} instead of the
   * configured training split when given (e.g. recent images read from a topic for a fine-tuning
   * run; unlabelled data needs an existing teacher and skips the linear probe). Evaluation stays on
   * the held-out split.
   */
  public static TrainingReport run(TrainConfig cfg, PrintStream out, Dataset trainData)
      throws IOException, MalformedModelException {
    Engine engine = Engine.getEngine("PyTorch");
    TokenizerConfig mc = cfg.model();
    try (NDManager root = NDManager.newBaseManager()) {
      Dataset train;
      Dataset test;
      if (cfg.photos()) {
        test = heldOutPhotos(cfg, out);
        train =
            trainData != null
                ? trainData
                : PhotoCrops.load(
                    cfg.photoDirs(),
                    false,
                    cfg.photoTrainCrops(),
                    mc.imageSize(),
                    cfg.photoMaxSide(),
                    cfg.seed(),
                    out);
        if (trainData == null && (cfg.photoColourAugment() || cfg.photoSyntheticShare() > 0)) {
          PhotoCrops.augment(
              train,
              cfg.photoColourAugment(),
              cfg.photoSyntheticShare(),
              cfg.photoSyntheticFields(),
              cfg.photoSyntheticEdges(),
              cfg.seed());
        }
      } else {
        Path dataDir = Path.of(cfg.dataDir());
        train =
            trainData != null ? trainData : Dataset.fashionMnist(dataDir, true, cfg.trainLimit());
        test = Dataset.fashionMnist(dataDir, false, 0);
      }
      if (train.size() != mc.imageSize() || train.channels() != mc.channels()) {
        throw new IllegalArgumentException(
            "model expects "
                + mc.channels()
                + "x"
                + mc.imageSize()
                + " images, data is "
                + train.channels()
                + "x"
                + train.size());
      }
      ParameterStore ps = new ParameterStore(root, false);
      TeacherClassifier teacher = null;
      double teacherAcc = Double.NaN;
      boolean hog = cfg.align() && cfg.alignTarget().equals("hog");
      if (cfg.align() && !hog) {
        Pair<TeacherClassifier, Double> t = ensureTeacher(cfg, train, test, root, ps, out);
        teacher = t.getKey();
        teacherAcc = t.getValue();
      }

      engine.setRandomSeed((int) cfg.seed());
      TokenEncoder enc = ModelDir.newEncoder(mc, root);
      TokenDecoder dec = ModelDir.newDecoder(mc, root);
      Block proj = null;
      if (cfg.align()) {
        proj = projector(cfg.alignHidden(), hog ? HOG_BINS : teacher.featureDim());
        proj.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
        proj.initialize(root, DataType.FLOAT32, new Shape(1, mc.tokens(), mc.codeDim()));
      }
      Path ckpt = cfg.checkpointDir() == null ? null : Path.of(cfg.checkpointDir());
      boolean resume = ckpt != null && Files.exists(ckpt.resolve("checkpoint.json"));
      int startStep = 0;
      if (!resume && cfg.initFrom() != null) {
        // Fine-tuning: start from a trained version's weights (same architecture; tau and the
        // loss weights may differ, e.g. a lower tau for a sharper posterior).
        Path init = Path.of(cfg.initFrom());
        TokenizerConfig initCfg = ModelDir.readCard(init).tokenizerConfig();
        boolean addsConv = mc.addsDecoderConv(initCfg);
        if (!initCfg.sameArchitecture(mc) && !addsConv) {
          throw new IllegalArgumentException(
              "init_from "
                  + init
                  + " has architecture "
                  + initCfg
                  + ", not the configured "
                  + mc
                  + ": fine-tuning needs the same architecture (or that one plus dec_conv_kernel)");
        }
        ModelDir.loadParams(enc, init.resolve(ModelDir.ENCODER), root);
        if (addsConv) {
          // Every weight but the new convolution, which starts at zero: step 0 decodes as init
          // does.
          TokenDecoder old = ModelDir.loadDecoder(init, root);
          ModelDir.copyParams(old, dec);
        } else {
          ModelDir.loadParams(dec, init.resolve(ModelDir.DECODER), root);
        }
      }
      if (resume) {
        startStep = readCheckpointHeader(ckpt, cfg);
        ModelDir.loadParams(enc, ckpt.resolve("encoder.params"), root);
        ModelDir.loadParams(dec, ckpt.resolve("decoder.params"), root);
        if (proj != null) {
          ModelDir.loadParams(proj, ckpt.resolve("projector.params"), root);
        }
      }
      AdamW opt =
          AdamW.forBlocks(
              root,
              proj == null ? List.of(enc, dec) : List.of(enc, dec, proj),
              cfg.beta1(),
              cfg.beta2(),
              cfg.weightDecay());
      List<NDArray> weights = opt.weights();
      List<NDArray> ema = new ArrayList<>();
      if (cfg.emaDecay() > 0) {
        for (NDArray w : weights) {
          ema.add(w.duplicate());
        }
      }
      if (resume) {
        try (InputStream in = Files.newInputStream(ckpt.resolve("optimizer.ndlist"));
            NDList saved = NDList.decode(root, in)) {
          opt.load(saved);
        }
        if (!ema.isEmpty()) {
          try (InputStream in = Files.newInputStream(ckpt.resolve("ema.ndlist"));
              NDList e = NDList.decode(root, in)) {
            for (int i = 0; i < ema.size(); i++) {
              AdamW.copyInPlace(e.get(i), ema.get(i));
            }
          }
        }
        out.printf("resumed from %s at step %d%n", ckpt, startStep);
      }

      int endStep = cfg.stopAtStep() > 0 ? Math.min(cfg.stopAtStep(), cfg.steps()) : cfg.steps();
      Batches order = new Batches(train.count(), cfg.batchSize(), cfg.seed());
      List<Double> history = new ArrayList<>();
      double[] win = new double[4];
      int winN = 0;
      long t0 = System.nanoTime();
      long tWin = t0;
      int step = startStep;
      int skipped = 0;
      while (step < endStep) {
        float lr = learningRate(cfg, step);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray x = train.batch(root, order.indices(step));
          float[] parts = new float[4];
          try (GradientCollector gc = engine.newGradientCollector()) {
            NDList e = enc.forward(ps, new NDList(x), true);
            NDArray zq = e.get(0);
            NDArray y = dec.forward(ps, new NDList(zq), true).singletonOrThrow();
            NDArray rec = reconstructionLoss(y, x, cfg.recLoss(), cfg.logMseEps());
            NDArray loss = rec.add(e.get(1));
            if (proj != null) {
              NDArray feats =
                  hog
                      ? HogFeatures.compute(x, mc.patchSize(), HOG_BINS, root)
                      : teacher.forward(ps, new NDList(x), false).get(1).stopGradient();
              NDArray al =
                  alignLoss(proj.forward(ps, new NDList(zq), true).singletonOrThrow(), feats);
              loss = loss.add(Scalars.mul(al, cfg.alignWeight()));
              parts[3] = al.getFloat();
            }
            gc.backward(loss);
            parts[0] = loss.getFloat();
            parts[1] = rec.getFloat();
            parts[2] = e.get(1).getFloat();
          }
          if (!Float.isFinite(opt.step(lr, cfg.gradClip()))) {
            skipped++;
            if (skipped <= 20) {
              // Which part went non-finite says where to look (the loss or only its gradient).
              out.printf(
                  "step %d skipped: non-finite gradient (loss %s rec %s aux %s align %s)%n",
                  step + 1, parts[0], parts[1], parts[2], parts[3]);
            }
          }
          if (!ema.isEmpty()) {
            long t = opt.stepCount();
            float d = Math.min(cfg.emaDecay(), (1f + t) / (10f + t));
            for (int i = 0; i < ema.size(); i++) {
              ema.get(i).muli(d).addi(weights.get(i).mul(1 - d));
            }
          }
          for (int i = 0; i < 4; i++) {
            win[i] += parts[i];
          }
          winN++;
        }
        step++;
        if (step % cfg.logEvery() == 0 || step == endStep) {
          long now = System.nanoTime();
          double secs = (now - tWin) / 1e9;
          double ips = winN * cfg.batchSize() / secs;
          double eta = (endStep - step) * secs / winN;
          history.add(win[0] / winN);
          out.printf(
              "step %d/%d loss %.5f rec %.5f aux %.5f align %.4f lr %.2e skipped %d | %.1f img/s | ETA %s%n",
              step,
              cfg.steps(),
              win[0] / winN,
              win[1] / winN,
              win[2] / winN,
              win[3] / winN,
              lr,
              skipped,
              ips,
              formatDuration(eta));
          out.flush();
          win = new double[4];
          winN = 0;
          tWin = now;
        }
        if (ckpt != null
            && cfg.checkpointEvery() > 0
            && step % cfg.checkpointEvery() == 0
            && step < endStep) {
          saveCheckpoint(ckpt, cfg, step, enc, dec, proj, opt, ema, root);
        }
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (ckpt != null) {
        saveCheckpoint(ckpt, cfg, step, enc, dec, proj, opt, ema, root);
      }
      boolean finished = step >= cfg.steps();
      String modelDir = null;
      double psnr = Double.NaN;
      Map<String, Object> evaluation = new LinkedHashMap<>();
      if (finished) {
        for (int i = 0; i < ema.size(); i++) {
          ema.get(i).copyTo(weights.get(i));
        }
        Path dir = Path.of(cfg.outputDir());
        Map<String, Object> training = trainingInfo(cfg, step, seconds, startStep, teacherAcc);
        training.put("skipped_nonfinite_steps_last_run", skipped);
        // Serving resizes as the training data were made: photo crops are scaled squares,
        // Fashion-MNIST's 28x28 images sit unscaled on a 32x32 black square.
        ModelCard card =
            ModelCard.tokenizer(cfg.name(), mc, training, Map.of())
                .withImageResize(cfg.photos() ? "crop" : "fit");
        ModelDir.saveTokenizer(dir, card, enc, dec);
        modelDir = dir.toString();
        psnr = Evaluation.psnr(enc, dec, test, 256);
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("heldout_psnr_256", psnr);
        if (cfg.evalImages() > 0) {
          evaluation =
              Evaluation.evaluate(
                  enc,
                  dec,
                  train,
                  test,
                  new Evaluation.Options(
                      cfg.evalImages(),
                      cfg.probeTrainImages(),
                      500,
                      dir.resolve("reconstructions.png")));
          metrics.putAll(evaluation);
          Dataset source =
              cfg.photos()
                  ? heldOutSource(
                      cfg.photoHeldoutSourceDirs(),
                      cfg.photoHeldoutCrops(),
                      mc.imageSize(),
                      cfg.photoMaxSide(),
                      out)
                  : null;
          if (source != null) {
            metrics.put(
                "heldout_source",
                Evaluation.evaluate(
                    enc,
                    dec,
                    null,
                    source,
                    new Evaluation.Options(cfg.evalImages(), 0, 500, null)));
          }
        }
        card = card.withMetrics(metrics);
        ModelDir.writeCard(dir, card);
        Files.writeString(dir.resolve("README.md"), ModelCardText.render(card));
      }
      double first = history.isEmpty() ? Double.NaN : history.get(0);
      double last = history.isEmpty() ? Double.NaN : history.get(history.size() - 1);
      int trained = step - startStep;
      return new TrainingReport(
          cfg.name(),
          mc.quantizer(),
          startStep,
          step,
          finished,
          seconds,
          trained * cfg.batchSize() / Math.max(seconds, 1e-9),
          first,
          last,
          history,
          psnr,
          teacherAcc,
          modelDir,
          evaluation);
    }
  }

  /**
   * Seed of the held-out photo crops: fixed, so that every run and `eval --dataset photos` score
   * the same crops.
   */
  public static final long HELDOUT_PHOTO_SEED = 20241214L;

  /** The held-out photo crops of {@code cfg} (same for every run with the same photo settings). */
  static Dataset heldOutPhotos(TrainConfig cfg, PrintStream out) throws IOException {
    return PhotoCrops.load(
        cfg.photoDirs(),
        true,
        cfg.photoHeldoutCrops(),
        cfg.model().imageSize(),
        cfg.photoMaxSide(),
        HELDOUT_PHOTO_SEED,
        out);
  }

  /**
   * {@code count} crops of every picture in {@code dirs}, folders held out whole (e.g. one Debian
   * package), with the held-out crop seed; null when {@code dirs} is empty.
   */
  public static Dataset heldOutSource(
      List<String> dirs, int count, int size, int maxSide, PrintStream out) throws IOException {
    if (dirs == null || dirs.isEmpty()) {
      return null;
    }
    return PhotoCrops.crops(PhotoCrops.files(dirs), count, size, maxSide, HELDOUT_PHOTO_SEED, out);
  }

  static Map<String, Object> trainingInfo(
      TrainConfig cfg, int step, double seconds, int startStep, double teacherAcc) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("steps", step);
    m.put("batch_size", cfg.batchSize());
    m.put("images_seen", (long) step * cfg.batchSize());
    m.put("train_seconds_last_run", Math.round(seconds));
    m.put("resumed_from_step", startStep);
    m.put(
        "optimizer",
        "AdamW lr "
            + cfg.lr()
            + " betas ("
            + cfg.beta1()
            + ", "
            + cfg.beta2()
            + ") wd "
            + cfg.weightDecay()
            + ", warm-up "
            + cfg.warmupSteps()
            + " + cosine to "
            + cfg.minLr()
            + ", clip "
            + cfg.gradClip());
    m.put("ema_decay", cfg.emaDecay());
    m.put("rec_loss", cfg.recLoss());
    if ("log_mse".equals(cfg.recLoss())) {
      m.put("log_mse_eps", cfg.logMseEps());
    }
    m.put("seed", cfg.seed());
    m.put("align", cfg.align());
    m.put("align_weight", cfg.alignWeight());
    m.put("align_target", cfg.align() ? cfg.alignTarget() : null);
    m.put(
        "teacher_dir",
        cfg.align() && cfg.alignTarget().equals("teacher") ? cfg.teacherDir() : null);
    m.put("teacher_test_accuracy", Double.isNaN(teacherAcc) ? null : teacherAcc);
    m.put("dataset", cfg.dataset());
    if (cfg.photos()) {
      int s = cfg.model().imageSize();
      m.put(
          "data",
          cfg.photoTrainCrops()
              + " random "
              + s
              + "x"
              + s
              + " RGB crops (side log-uniform in "
              + s
              + ".."
              + cfg.photoMaxSide()
              + " source px, area-averaged to "
              + s
              + ", seed "
              + cfg.seed()
              + ") of the training pictures in "
              + String.join(", ", cfg.photoDirs())
              + ", pixels in [-1,1]; held-out = "
              + cfg.photoHeldoutCrops()
              + " crops (seed "
              + HELDOUT_PHOTO_SEED
              + ") of the pictures with CRC32(key) % "
              + PhotoCrops.HELDOUT_MODULUS
              + " == 0 (see PhotoCrops)"
              + (cfg.photoColourAugment()
                  ? "; colour augmentation (half the crops: channel order and/or inversion)"
                  : "")
              + (cfg.photoSyntheticShare() > 0
                  ? "; "
                      + cfg.photoSyntheticShare()
                      + " of the crops synthetic flat colours/gradients"
                      + (cfg.photoSyntheticFields() > 0
                          ? " ("
                              + cfg.photoSyntheticFields()
                              + " of them smooth colour fields"
                              + (cfg.photoSyntheticEdges() > 0
                                  ? ", " + cfg.photoSyntheticEdges() + " of those split by an edge"
                                  : "")
                              + ")"
                          : "")
                  : "")
              + (cfg.photoHeldoutSourceDirs() == null || cfg.photoHeldoutSourceDirs().isEmpty()
                  ? ""
                  : "; held-out source (never trained on): "
                      + String.join(", ", cfg.photoHeldoutSourceDirs())));
    } else {
      m.put(
          "data",
          "Fashion-MNIST train split ("
              + (cfg.trainLimit() > 0 ? cfg.trainLimit() : 60000)
              + " images), 28x28 padded to 32x32, pixels in [-1,1]; held-out = official test set (10000)");
    }
    m.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
    return m;
  }

  /** Linear warm-up, then cosine from lr to min_lr. */
  static float learningRate(TrainConfig cfg, int step) {
    return AdamW.warmupCosine(cfg.lr(), cfg.minLr(), cfg.warmupSteps(), cfg.steps(), step);
  }

  /** MLP(d -> h -> h -> F) with SiLU, as the alignment projector. */
  static Block projector(int hidden, int featDim) {
    return new SequentialBlock()
        .add(Linear.builder().setUnits(hidden).build())
        .add(l -> new NDList(Scalars.silu(l.singletonOrThrow())))
        .add(Linear.builder().setUnits(hidden).build())
        .add(l -> new NDList(Scalars.silu(l.singletonOrThrow())))
        .add(Linear.builder().setUnits(featDim).build());
  }

  /** Per-image log MSE: the mean over the batch of log(mse_i + eps), see {@link TrainConfig}. */
  static NDArray reconstructionLoss(NDArray y, NDArray x, String kind, float eps) {
    NDArray se = y.sub(x).square();
    if ("mse".equals(kind)) {
      return se.mean();
    }
    return se.reshape(se.getShape().get(0), -1).mean(new int[] {1}).add(eps).log().mean();
  }

  /**
   * -mean cos between projected tokens and teacher patch features; token i is repeated P/N times so
   * that it is matched to the i-th consecutive group of patches in raster order.
   */
  static NDArray alignLoss(NDArray projected, NDArray feats) {
    long n = projected.getShape().get(1), p = feats.getShape().get(1);
    if (p % n != 0) {
      throw new IllegalArgumentException("teacher patches " + p + " not a multiple of tokens " + n);
    }
    NDArray rep = projected.repeat(1, p / n);
    return Quantizer.l2normalize(rep)
        .mul(Quantizer.l2normalize(feats))
        .sum(new int[] {-1})
        .mean()
        .neg();
  }

  private static Pair<TeacherClassifier, Double> ensureTeacher(
      TrainConfig cfg,
      Dataset train,
      Dataset test,
      NDManager root,
      ParameterStore ps,
      PrintStream out)
      throws IOException, MalformedModelException {
    Path dir = Path.of(cfg.teacherDir());
    if (Files.exists(dir.resolve(ModelDir.CARD))) {
      ModelCard card = ModelDir.readCard(dir);
      Object acc = card.metrics().get("test_accuracy");
      out.printf("teacher loaded from %s (test accuracy %s)%n", dir, acc);
      return new Pair<>(
          ModelDir.loadTeacher(dir, root), acc instanceof Number n ? n.doubleValue() : Double.NaN);
    }
    Engine.getEngine("PyTorch").setRandomSeed((int) cfg.seed() + 1);
    TeacherClassifier t =
        ModelDir.newTeacher(cfg.teacherWidth(), 10, train.channels(), train.size(), root);
    List<NDArray> w = new ArrayList<>();
    t.getParameters().forEach(p -> w.add(p.getValue().getArray()));
    w.forEach(a -> a.setRequiresGradient(true));
    AdamW opt = new AdamW(root, w, new boolean[w.size()], 0.9f, 0.999f, 0f);
    Batches order = new Batches(train.count(), TEACHER_BATCH, cfg.seed() + 1);
    long t0 = System.nanoTime();
    for (int s = 0; s < cfg.teacherSteps(); s++) {
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        int[] idx = order.indices(s);
        NDArray x = train.batch(root, idx);
        int[] lab = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
          lab[i] = train.labels()[idx[i]];
        }
        NDArray y = root.create(lab).oneHot(10);
        float lossV;
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
          NDArray logits = t.forward(ps, new NDList(x), true).get(0);
          NDArray loss = logits.logSoftmax(-1).mul(y).sum(new int[] {-1}).mean().neg();
          gc.backward(loss);
          lossV = loss.getFloat();
        }
        opt.step(1e-3f, 0f);
        if ((s + 1) % 50 == 0) {
          out.printf("teacher step %d/%d loss %.4f%n", s + 1, cfg.teacherSteps(), lossV);
        }
      }
    }
    w.forEach(a -> a.setRequiresGradient(false));
    double seconds = (System.nanoTime() - t0) / 1e9;
    double acc = teacherAccuracy(t, test, root, ps);
    out.printf(
        "teacher test accuracy %.4f after %d steps (%.0f s)%n", acc, cfg.teacherSteps(), seconds);
    Map<String, Object> config = ModelDir.teacherConfig(t, 10, train.channels(), train.size());
    Map<String, Object> training = new LinkedHashMap<>();
    training.put("steps", cfg.teacherSteps());
    training.put("batch_size", TEACHER_BATCH);
    training.put("optimizer", "Adam lr 1e-3");
    training.put("seconds", Math.round(seconds));
    training.put("seed", cfg.seed() + 1);
    training.put("data", "Fashion-MNIST train split, 32x32 padded, [-1,1]");
    ModelCard card =
        new ModelCard(
            ModelCard.FORMAT_VERSION,
            "fmnist-teacher",
            ModelCard.KIND_TEACHER,
            config,
            training,
            Map.of("test_accuracy", acc));
    ModelDir.saveTeacher(dir, card, t);
    return new Pair<>(t, acc);
  }

  static double teacherAccuracy(
      TeacherClassifier t, Dataset test, NDManager root, ParameterStore ps) {
    int correct = 0;
    for (int i = 0; i < test.count(); i += 500) {
      int to = Math.min(test.count(), i + 500);
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        long[] pred =
            t.forward(ps, new NDList(test.range(root, i, to)), false)
                .get(0)
                .argMax(-1)
                .toLongArray();
        for (int j = 0; j < pred.length; j++) {
          if (pred[j] == test.labels()[i + j]) {
            correct++;
          }
        }
      }
    }
    return correct / (double) test.count();
  }

  private static int readCheckpointHeader(Path ckpt, TrainConfig cfg) throws IOException {
    Map<?, ?> h = ModelCard.JSON.readValue(ckpt.resolve("checkpoint.json").toFile(), Map.class);
    Object v = h.get("format_version");
    if (!(v instanceof Number n) || n.intValue() != CHECKPOINT_VERSION) {
      throw new IOException(
          "Unsupported checkpoint format_version "
              + v
              + " in "
              + ckpt
              + "; this build reads "
              + CHECKPOINT_VERSION
              + ": start a fresh checkpoint_dir");
    }
    TokenizerConfig saved = ModelCard.JSON.convertValue(h.get("model"), TokenizerConfig.class);
    if (!saved.equals(cfg.model())) {
      throw new IOException(
          "Checkpoint in "
              + ckpt
              + " was made for another model config ("
              + saved
              + "); use a fresh checkpoint_dir or the same model settings");
    }
    return ((Number) h.get("step")).intValue();
  }

  /**
   * Writes the checkpoint into a sibling temp folder, then swaps it in, so an interrupted save
   * keeps the old one.
   */
  private static void saveCheckpoint(
      Path dir,
      TrainConfig cfg,
      int step,
      TokenEncoder enc,
      TokenDecoder dec,
      Block proj,
      AdamW opt,
      List<NDArray> ema,
      NDManager root)
      throws IOException {
    Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
    deleteTree(tmp);
    Files.createDirectories(tmp);
    ModelDir.saveParams(enc, tmp.resolve("encoder.params"));
    ModelDir.saveParams(dec, tmp.resolve("decoder.params"));
    if (proj != null) {
      ModelDir.saveParams(proj, tmp.resolve("projector.params"));
    }
    try (NDScope scope = new NDScope();
        OutputStream os = Files.newOutputStream(tmp.resolve("optimizer.ndlist"))) {
      scope.suppressNotUsedWarning();
      opt.state(root).encode(os);
    }
    if (!ema.isEmpty()) {
      try (OutputStream os = Files.newOutputStream(tmp.resolve("ema.ndlist"))) {
        new NDList(ema).encode(os);
      }
    }
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("format_version", CHECKPOINT_VERSION);
    h.put("step", step);
    h.put("model", cfg.model());
    h.put("config", cfg);
    ModelCard.JSON.writeValue(tmp.resolve("checkpoint.json").toFile(), h);
    Path old = dir.resolveSibling(dir.getFileName() + ".old");
    deleteTree(old);
    if (Files.exists(dir)) {
      Files.move(dir, old);
    }
    Files.move(tmp, dir);
    deleteTree(old);
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  static String formatDuration(double s) {
    long t = Math.round(s);
    return t >= 3600
        ? String.format("%dh%02dm", t / 3600, (t % 3600) / 60)
        : String.format("%dm%02ds", t / 60, t % 60);
  }

  /**
   * Deterministic data order: a fresh seeded permutation per epoch, so step s always sees the same
   * batch.
   */
  static final class Batches {
    private final int n;
    private final int batch;
    private final long seed;
    private int cachedEpoch = -1;
    private int[] perm;

    Batches(int n, int batch, long seed) {
      this.n = n;
      this.batch = batch;
      this.seed = seed;
    }

    int[] indices(int step) {
      int[] idx = new int[batch];
      for (int i = 0; i < batch; i++) {
        long pos = (long) step * batch + i;
        int epoch = (int) (pos / n);
        if (epoch != cachedEpoch) {
          perm = permutation(epoch);
          cachedEpoch = epoch;
        }
        idx[i] = perm[(int) (pos % n)];
      }
      return idx;
    }

    private int[] permutation(int epoch) {
      int[] p = new int[n];
      Dataset.shuffledOrder(p, new Random(seed * 1_000_003L + epoch));
      return p;
    }
  }
}
