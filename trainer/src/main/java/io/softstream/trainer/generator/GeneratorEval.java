package io.softstream.trainer.generator;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TeacherClassifier;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.PixelPatches;
import io.softstream.model.generator.Sampler;
import io.softstream.model.onnx.OnnxExport;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.trainer.Dataset;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Quality of a generator, judged by a held-out classifier (the judge, {@code models/fmnist-judge}:
 * trained on real training images only, never used in the tokenizer's or the generator's training):
 *
 * <ul>
 *   <li>class consistency: the judge's accuracy on generated images against the label asked for,
 *       per class and overall;
 *   <li>Fréchet distance in the judge's feature space (conv features mean-pooled over positions)
 *       between generated images and the real test split, and the same distance for the tokenizer's
 *       reconstructions of the test split, the floor a generator over these tokens can reach;
 *   <li>the judge's own accuracy on the real test split and on the reconstructions (overall and per
 *       class), the ceilings class consistency should be read against.
 * </ul>
 *
 * <p>A generator over pixel patches (the 2-D baseline, {@link PixelPatches#fromCard}) needs no
 * tokenizer: its latents are un-patchified (and clamped to [-1, 1]); its "reconstructions" are the
 * test images themselves.
 *
 * <p>Optionally the same over a range of guidance scales and step counts (the curves), and over a
 * list of whole sampler settings (the sweep: method, steps, guidance scale and interval).
 */
public final class GeneratorEval {
  private GeneratorEval() {}

  /**
   * Evaluation settings.
   *
   * @param perClass generated images per class
   * @param realLimit test images used (0 = all 10 000)
   * @param settings sampler settings
   * @param seed seed of the generated images
   * @param batch images per forward pass
   * @param curveGuidance guidance scales of the guidance curve (at the headline method, steps and
   *     interval)
   * @param curveSteps step counts of the steps curve (at the headline method, guidance and
   *     interval)
   * @param curvePerClass images per class of each curve and sweep point
   * @param sweep further sampler settings, each evaluated like a curve point
   * @param reconstruction also score the tokenizer's reconstructions of the test split (the floor)
   * @param cacheDir where generated pixels are kept, keyed by generator, settings, count and seed,
   *     so a second evaluation (e.g. with another judge) reuses them; null = no cache
   */
  public record Options(
      int perClass,
      int realLimit,
      Sampler.Settings settings,
      long seed,
      int batch,
      List<Float> curveGuidance,
      List<Integer> curveSteps,
      int curvePerClass,
      List<Sampler.Settings> sweep,
      boolean reconstruction,
      Path cacheDir) {
    /** Copies the lists. */
    public Options {
      curveGuidance = List.copyOf(curveGuidance);
      curveSteps = List.copyOf(curveSteps);
      sweep = List.copyOf(sweep);
    }

    /** Curves, no sweep, with reconstructions. */
    public Options(
        int perClass,
        int realLimit,
        Sampler.Settings settings,
        long seed,
        int batch,
        List<Float> curveGuidance,
        List<Integer> curveSteps,
        int curvePerClass) {
      this(
          perClass,
          realLimit,
          settings,
          seed,
          batch,
          curveGuidance,
          curveSteps,
          curvePerClass,
          List.of(),
          true,
          null);
    }

    /** Without curves. */
    public Options(int perClass, int realLimit, Sampler.Settings settings, long seed, int batch) {
      this(perClass, realLimit, settings, seed, batch, List.of(), List.of(), perClass);
    }

    /**
     * Defaults: 1 000 per class (10 k images), all test images, Euler 50 steps, guidance 4; curves
     * over guidance 1, 1.5, 2, 3, 4, 6 and steps 5, 10, 25, 50, 100 with 200 per class.
     */
    public static Options defaults() {
      return new Options(
          1000,
          0,
          Sampler.Settings.of(
              Sampler.Method.EULER, Sampler.DEFAULT_STEPS, Sampler.DEFAULT_GUIDANCE),
          0,
          250,
          List.of(1f, 1.5f, 2f, 3f, 4f, 6f),
          List.of(5, 10, 25, 50, 100),
          200);
    }
  }

  /** Latents {@code [n, N, d]} to pixels {@code [n, C, H, W]} in [-1, 1]. */
  @FunctionalInterface
  public interface Decode {
    /** Decodes {@code n} latent sets. */
    float[] apply(float[] latents, int n);
  }

  /** The 2-D baseline's decoder: un-patchify, clamped to [-1, 1] like the tokenizer's decoder. */
  public static Decode pixelDecoder(PixelPatches pp) {
    return (lat, n) -> {
      float[] px = pp.unpatchify(lat, n);
      for (int i = 0; i < px.length; i++) {
        px[i] = Math.max(-1f, Math.min(1f, px[i]));
      }
      return px;
    };
  }

  /** Judge predictions and pooled features of a set of images. */
  record Judged(int[] predictions, float[] features, int dim) {}

  /**
   * Runs the evaluation and returns its metrics (JSON-ready). If {@code gridPng} is not null, a
   * grid of up to 8 generated images per class (one row per class) is written there.
   */
  public static Map<String, Object> evaluate(
      Path generatorDir, Path tokenizerDir, Path judgeDir, Path dataDir, Options o, Path gridPng)
      throws IOException, MalformedModelException {
    Dataset test = Dataset.fashionMnist(dataDir, false, o.realLimit());
    int px = test.channels() * test.size() * test.size();
    Map<String, Object> m = new LinkedHashMap<>();
    java.util.Optional<PixelPatches> patches =
        PixelPatches.fromCard(GeneratorDir.readCard(generatorDir));
    try (NDManager nd = NDManager.newBaseManager("PyTorch");
        GeneratorRuntime gen = GeneratorRuntime.open(generatorDir);
        TokenizerRuntime tok =
            patches.isPresent()
                ? null
                : TokenizerRuntimes.open(
                    tokenizerDir, EngineKind.PYTORCH, TokenizerRuntimes.Part.BOTH)) {
      Decode decode = patches.isPresent() ? pixelDecoder(patches.get()) : tok::decode;
      TeacherClassifier teacher = ModelDir.loadTeacher(judgeDir, nd);
      ParameterStore ps = new ParameterStore(nd, false);
      Judged real = judge(teacher, ps, nd, test.pixels(), test.count(), test, o.batch());
      Frechet.Stats realStats = Frechet.stats(real.features(), test.count(), real.dim());
      int classes = gen.config().numClasses();

      float[][] generated = new float[1][];
      int[][] labels = new int[1][];
      if (o.perClass() > 0) {
        m.putAll(
            generatedMetrics(
                gen,
                decode,
                teacher,
                ps,
                nd,
                test,
                realStats,
                o.settings(),
                o.perClass(),
                o.seed(),
                o.batch(),
                generated,
                labels,
                generatorDir,
                o.cacheDir()));
      }
      m.put("judge", judgeDir.getFileName().toString());
      m.put(
          "judge_accuracy_real", accuracy(real.predictions(), test.labels(), classes).get(classes));
      m.put(
          "judge_accuracy_per_class_real",
          accuracy(real.predictions(), test.labels(), classes).subList(0, classes));
      if (o.reconstruction()) {
        // Reconstructions: the tokenizer's round trip; for pixel patches the round trip is exact
        // (the images themselves).
        float[] recon = new float[test.count() * px];
        for (int from = 0; from < test.count(); from += o.batch()) {
          int n = Math.min(o.batch(), test.count() - from);
          float[] in = java.util.Arrays.copyOfRange(test.pixels(), from * px, (from + n) * px);
          float[] lat =
              patches.isPresent() ? patches.get().patchify(in, n) : tok.encode(in, n).values();
          System.arraycopy(decode.apply(lat, n), 0, recon, from * px, n * px);
        }
        Judged rec = judge(teacher, ps, nd, recon, test.count(), test, o.batch());
        m.put(
            "frechet_reconstruction",
            round(
                Frechet.distance(
                    Frechet.stats(rec.features(), test.count(), rec.dim()), realStats)));
        List<Double> recAcc = accuracy(rec.predictions(), test.labels(), classes);
        m.put("judge_accuracy_reconstruction", recAcc.get(classes));
        m.put("judge_accuracy_per_class_reconstruction", recAcc.subList(0, classes));
      }
      m.put("real_images", test.count());
      m.put(
          "feature_space",
          "judge " + judgeDir.getFileName() + " conv features, mean-pooled (" + real.dim() + "-d)");
      if (!o.curveGuidance().isEmpty()) {
        List<Map<String, Object>> curve = new ArrayList<>();
        for (float gs : o.curveGuidance()) {
          Sampler.Settings s =
              new Sampler.Settings(
                  o.settings().method(),
                  o.settings().steps(),
                  gs,
                  o.settings().guidanceLow(),
                  o.settings().guidanceHigh());
          curve.add(
              generatedMetrics(
                  gen,
                  decode,
                  teacher,
                  ps,
                  nd,
                  test,
                  realStats,
                  s,
                  o.curvePerClass(),
                  o.seed(),
                  o.batch(),
                  null,
                  null,
                  generatorDir,
                  o.cacheDir()));
        }
        m.put("guidance_curve", curve);
      }
      if (!o.curveSteps().isEmpty()) {
        List<Map<String, Object>> curve = new ArrayList<>();
        for (int st : o.curveSteps()) {
          Sampler.Settings s =
              new Sampler.Settings(
                  o.settings().method(),
                  st,
                  o.settings().guidanceScale(),
                  o.settings().guidanceLow(),
                  o.settings().guidanceHigh());
          curve.add(
              generatedMetrics(
                  gen,
                  decode,
                  teacher,
                  ps,
                  nd,
                  test,
                  realStats,
                  s,
                  o.curvePerClass(),
                  o.seed(),
                  o.batch(),
                  null,
                  null,
                  generatorDir,
                  o.cacheDir()));
        }
        m.put("steps_curve", curve);
      }
      if (!o.sweep().isEmpty()) {
        List<Map<String, Object>> curve = new ArrayList<>();
        for (Sampler.Settings s : o.sweep()) {
          curve.add(
              generatedMetrics(
                  gen,
                  decode,
                  teacher,
                  ps,
                  nd,
                  test,
                  realStats,
                  s,
                  o.curvePerClass(),
                  o.seed(),
                  o.batch(),
                  null,
                  null,
                  generatorDir,
                  o.cacheDir()));
          System.out.println(
              "sweep point " + ModelCard.JSON.writeValueAsString(curve.get(curve.size() - 1)));
        }
        m.put("sampler_sweep", curve);
      }
      if (gridPng != null && o.perClass() > 0) {
        writeGrid(
            generated[0], labels[0], classes, Math.min(8, o.perClass()), test.size(), gridPng);
      }
    }
    return m;
  }

  /**
   * Generates {@code perClass} images per class with {@code s} and judges them; optionally hands
   * back pixels and labels.
   */
  private static Map<String, Object> generatedMetrics(
      GeneratorRuntime gen,
      Decode decode,
      TeacherClassifier teacher,
      ParameterStore ps,
      NDManager nd,
      Dataset test,
      Frechet.Stats realStats,
      Sampler.Settings s,
      int perClass,
      long seed,
      int batch,
      float[][] pixelsOut,
      int[][] labelsOut,
      Path generatorDir,
      Path cacheDir) {
    int px = test.channels() * test.size() * test.size();
    int classes = gen.config().numClasses();
    int total = classes * perClass;
    int[] labels = new int[total];
    long[] seeds = new long[total];
    for (int i = 0; i < total; i++) {
      labels[i] = i % classes;
      seeds[i] = Sampler.imageSeed(seed, i);
    }
    // Keyed by the weights' hash too: a generator retrained in place must not be scored on its
    // predecessor's images.
    Path cached =
        cacheDir == null
            ? null
            : cacheDir.resolve(
                String.format(
                    java.util.Locale.ROOT,
                    "%s-%s-%s-%d-g%s-%s-%s-n%d-s%d.f32",
                    generatorDir.toAbsolutePath().normalize().getFileName(),
                    weightsHash(generatorDir),
                    s.method().name().toLowerCase(java.util.Locale.ROOT),
                    s.steps(),
                    s.guidanceScale(),
                    s.guidanceLow(),
                    s.guidanceHigh(),
                    total,
                    seed));
    float[] generated = new float[total * px];
    double genSeconds;
    if (cached != null && java.nio.file.Files.exists(cached)) {
      genSeconds = readCache(cached, generated);
    } else {
      long t0 = System.nanoTime();
      for (int from = 0; from < total; from += batch) {
        int n = Math.min(batch, total - from);
        float[] tokens =
            gen.sample(
                java.util.Arrays.copyOfRange(labels, from, from + n),
                java.util.Arrays.copyOfRange(seeds, from, from + n),
                s);
        System.arraycopy(decode.apply(tokens, n), 0, generated, from * px, n * px);
      }
      genSeconds = (System.nanoTime() - t0) / 1e9;
      if (cached != null) {
        writeCache(cached, generated, genSeconds);
      }
    }
    Judged g = judge(teacher, ps, nd, generated, total, test, batch);
    int[] hit = new int[classes];
    int[] seen = new int[classes];
    for (int i = 0; i < total; i++) {
      seen[labels[i]]++;
      if (g.predictions()[i] == labels[i]) {
        hit[labels[i]]++;
      }
    }
    List<Double> perClassAcc = new ArrayList<>();
    int hits = 0;
    for (int c = 0; c < classes; c++) {
      perClassAcc.add(round(seen[c] == 0 ? 0 : hit[c] / (double) seen[c]));
      hits += hit[c];
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("class_consistency", round(hits / (double) total));
    m.put("class_consistency_per_class", perClassAcc);
    m.put(
        "frechet_generated",
        round(Frechet.distance(Frechet.stats(g.features(), total, g.dim()), realStats)));
    m.put("generated_images", total);
    m.put("sampler", s.method().name().toLowerCase(java.util.Locale.ROOT));
    m.put("steps", s.steps());
    m.put("guidance_scale", s.guidanceScale());
    m.put("guidance_interval", List.of(s.guidanceLow(), s.guidanceHigh()));
    m.put("generation_images_per_second", round(total / genSeconds));
    if (pixelsOut != null) {
      pixelsOut[0] = generated;
      labelsOut[0] = labels;
    }
    return m;
  }

  /** First 12 hex digits of the SHA-256 of {@code dir}'s generator weights. */
  static String weightsHash(Path dir) {
    try {
      return OnnxExport.sha256(java.nio.file.Files.readAllBytes(dir.resolve(GeneratorDir.PARAMS)))
          .substring(0, 12);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Could not read the generator weights in " + dir, e);
    }
  }

  /** Reads cached pixels into {@code into}; returns the generation seconds stored with them. */
  private static double readCache(Path file, float[] into) {
    try {
      java.nio.ByteBuffer b =
          java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(file))
              .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      double seconds = b.getDouble();
      b.asFloatBuffer().get(into);
      return seconds;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void writeCache(Path file, float[] px, double seconds) {
    try {
      java.nio.file.Files.createDirectories(file.getParent());
      java.nio.ByteBuffer b =
          java.nio.ByteBuffer.allocate(8 + 4 * px.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      b.putDouble(seconds);
      b.asFloatBuffer().put(px);
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      java.nio.file.Files.write(tmp, b.array());
      java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Per-class accuracies of {@code pred} against {@code labels}, then the overall one at index
   * {@code classes}.
   */
  static List<Double> accuracy(int[] pred, int[] labels, int classes) {
    int[] hit = new int[classes];
    int[] seen = new int[classes];
    for (int i = 0; i < labels.length; i++) {
      seen[labels[i]]++;
      hit[labels[i]] += pred[i] == labels[i] ? 1 : 0;
    }
    List<Double> out = new ArrayList<>();
    int hits = 0;
    for (int c = 0; c < classes; c++) {
      out.add(round(seen[c] == 0 ? 0 : hit[c] / (double) seen[c]));
      hits += hit[c];
    }
    out.add(round(hits / (double) labels.length));
    return out;
  }

  private static Judged judge(
      TeacherClassifier teacher,
      ParameterStore ps,
      NDManager nd,
      float[] pixels,
      int n,
      Dataset like,
      int batch) {
    int px = like.channels() * like.size() * like.size();
    int[] pred = new int[n];
    float[] feats = null;
    int dim = teacher.featureDim();
    feats = new float[n * dim];
    for (int from = 0; from < n; from += batch) {
      int b = Math.min(batch, n - from);
      try (NDManager sub = nd.newSubManager()) {
        NDArray x =
            sub.create(
                java.util.Arrays.copyOfRange(pixels, from * px, (from + b) * px),
                new Shape(b, like.channels(), like.size(), like.size()));
        NDList out = teacher.forward(ps, new NDList(x), false);
        long[] am = out.get(0).argMax(1).toLongArray();
        for (int i = 0; i < b; i++) {
          pred[from + i] = (int) am[i];
        }
        System.arraycopy(
            out.get(1).mean(new int[] {1}).toFloatArray(), 0, feats, from * dim, b * dim);
      }
    }
    return new Judged(pred, feats, dim);
  }

  private static void writeGrid(
      float[] px, int[] labels, int classes, int perRow, int size, Path file) throws IOException {
    int gap = 2;
    BufferedImage img =
        new BufferedImage(
            perRow * (size + gap) + gap,
            classes * (size + gap) + gap,
            BufferedImage.TYPE_BYTE_GRAY);
    int[] used = new int[classes];
    for (int i = 0; i < labels.length; i++) {
      int c = labels[i];
      if (used[c] >= perRow) {
        continue;
      }
      int ox = gap + used[c]++ * (size + gap);
      int oy = gap + c * (size + gap);
      for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
          float v = px[i * size * size + y * size + x];
          int g = Math.max(0, Math.min(255, Math.round((v + 1f) * 127.5f)));
          img.getRaster().setSample(ox + x, oy + y, 0, g);
        }
      }
    }
    ImageIO.write(img, "png", file.toFile());
  }

  private static double round(double v) {
    return Math.round(v * 1e4) / 1e4;
  }
}
