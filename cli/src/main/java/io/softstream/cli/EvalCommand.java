package io.softstream.cli;

import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.onnx.OnnxCodebook;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.images.ImageLimits;
import io.softstream.trainer.Dataset;
import io.softstream.trainer.Evaluation;
import io.softstream.trainer.PayloadSweep;
import io.softstream.trainer.PhotoCrops;
import io.softstream.trainer.SimilarityEval;
import io.softstream.trainer.TrainConfig;
import io.softstream.trainer.TrainerRun;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Evaluates a tokenizer on held-out images: quality, bytes, codec baselines at equal bytes,
 * semantic probe.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate a tokenizer: psnr, ssim, token_bytes_per_image, jpeg_psnr_at_equal_bytes, "
          + "bicubic_psnr_at_equal_bytes, mean_colour_psnr (each image as its mean colour), psnr_by_detail (model and "
          + "mean colour per pixel-std bucket) and, for labelled data, linear_probe_accuracy; writes an originals/"
          + "reconstructions grid. Same figures on every engine (--engine)."
    })
public final class EvalCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      description =
          "Tokenizer directory (default: the shipped model for the data set: "
              + "models/softvq-fmnist-32-next for fashion-mnist and --images, models/softvq-photo-64-next for photos).")
  Path model;

  static final class Source {
    @Option(
        names = "--dataset",
        description =
            "fashion-mnist: the official test split (held out), probe on the train "
                + "split; photos: crops of the held-out wallpaper pictures (see PhotoCrops; no labels, no probe).")
    String dataset;

    @Option(
        names = "--images",
        description =
            "A folder of images (PNG, JPEG, BMP, GIF, WebP), fitted to the model; no probe.")
    Path images;
  }

  @ArgGroup(exclusive = true)
  Source source = new Source();

  @Option(
      names = "--photo-dirs",
      split = ",",
      paramLabel = "DIR",
      description =
          "With --dataset photos: picture folders (default: /usr/share/backgrounds/gnome,/usr/share/backgrounds/mate).")
  List<String> photoDirs;

  @Option(
      names = "--heldout-source",
      split = ",",
      paramLabel = "DIR",
      description =
          "With --dataset photos: score crops of every picture in these folders (a source held out "
              + "whole, e.g. one Debian package made by scripts/photo-sources.py) instead of the "
              + "held-out pictures of --photo-dirs.")
  List<String> heldoutSource;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description = "auto|onnxruntime|pytorch (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(
      names = "--test-images",
      description =
          "Held-out images to score (default: 10000; photos: the training "
              + "config's photo_heldout_crops, 1000, the crops the trainer holds out).")
  Integer testImagesOption;

  @Option(
      names = "--probe-train-images",
      defaultValue = "10000",
      description = "Training images for the linear probe (default: ${DEFAULT-VALUE}).")
  int probeImages;

  @Option(
      names = "--grid",
      defaultValue = "out/eval-grid.png",
      description = "Originals/reconstructions PNG (default: ${DEFAULT-VALUE}).")
  Path grid;

  @Option(names = "--json", description = "Print one JSON object (only).")
  boolean json;

  @Option(
      names = "--payload-sweep",
      description =
          "Rate-distortion of the token payload encodings (fp32, fp16, int8, int8u, topk:8/4/2/1, codes): bytes per"
              + " image, psnr, ssim, linear probe, beside JPEG, WebP (cwebp) and a bicubic thumbnail at the same"
              + " bytes, on --test-images (codec baselines are slow: ~1,000 images is plenty); writes --plot.")
  boolean payloadSweep;

  @Option(
      names = "--similarity",
      description =
          "Precision@10 by class of cosine similarity search over --test-images Fashion-MNIST test images"
              + " (each against all others): tokens (fp16, int8, topk:4, topk:2, codes) against raw pixels and"
              + " JPEG files of the fp16 tokens' bytes.")
  boolean similarity;

  @Option(
      names = "--codec-images",
      defaultValue = "250",
      description =
          "With --payload-sweep: held-out images for the JPEG/WebP/bicubic baselines (default: ${DEFAULT-VALUE}).")
  int codecImages;

  @Option(
      names = "--plot",
      defaultValue = "out/payload-sweep.png",
      description =
          "With --payload-sweep: PSNR against bytes per image, PNG (default: ${DEFAULT-VALUE}).")
  Path plot;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String name = source.dataset == null ? "fashion-mnist" : source.dataset;
    if (source.images == null && !name.equals("fashion-mnist") && !name.equals("photos")) {
      throw new IllegalArgumentException(
          "Unknown data set '" + name + "'; accepted: fashion-mnist, photos (or --images DIR)");
    }
    boolean photos = source.images == null && name.equals("photos");
    int testImages =
        testImagesOption != null
            ? testImagesOption
            : photos ? TrainConfig.defaults().photoHeldoutCrops() : 10000;
    Path dir =
        model != null ? model : photos ? ShippedModels.photo() : ShippedModels.fashionMnist();
    Files.createDirectories(grid.toAbsolutePath().getParent());
    try (TokenizerRuntime rt =
        TokenizerRuntimes.open(dir, EngineKind.parse(engine), TokenizerRuntimes.Part.BOTH)) {
      Dataset train = null;
      Dataset test;
      if (source.images != null) {
        test = folder(source.images, rt.config());
      } else if (photos) {
        // The trainer's held-out crops (same folders, split rule, crop seed and crop size limit).
        TrainConfig d = TrainConfig.defaults();
        java.io.PrintStream log = json ? null : new java.io.PrintStream(System.err, true);
        Dataset whole =
            TrainerRun.heldOutSource(
                heldoutSource, testImages, rt.config().imageSize(), d.photoMaxSide(), log);
        test =
            whole != null
                ? whole
                : PhotoCrops.load(
                    photoDirs != null ? photoDirs : d.photoDirs(),
                    true,
                    testImages,
                    rt.config().imageSize(),
                    d.photoMaxSide(),
                    TrainerRun.HELDOUT_PHOTO_SEED,
                    log);
      } else {
        Path data = Path.of(TrainConfig.defaults().dataDir());
        test = Dataset.fashionMnist(data, false, testImages);
        train = probeImages > 0 ? Dataset.fashionMnist(data, true, probeImages) : null;
      }
      if (similarity) {
        Map<String, Object> r =
            SimilarityEval.run(rt, OnnxCodebook.normalised(dir, rt.config()), test, testImages, 10);
        out.println(json ? oneLine(r) : ModelCard.JSON.writeValueAsString(r));
        out.flush();
        return 0;
      }
      if (payloadSweep) {
        Map<String, Object> r =
            PayloadSweep.run(
                rt,
                OnnxCodebook.normalised(dir, rt.config()),
                train,
                test,
                testImages,
                probeImages,
                codecImages);
        r.put("dataset", source.images != null ? source.images.toString() : name);
        PayloadSweep.plot(
            List.of(r),
            List.of(
                rt.card().name() + " on " + r.get("dataset") + ", " + r.get("images") + " images"),
            plot);
        out.println(
            json
                ? oneLine(r)
                : ModelCard.JSON.writeValueAsString(r) + "\nplot: " + plot.toAbsolutePath());
        out.flush();
        return 0;
      }
      Map<String, Object> r =
          new java.util.LinkedHashMap<>(
              Evaluation.evaluate(
                  rt,
                  train,
                  test,
                  new Evaluation.Options(
                      testImages, probeImages, Math.min(1000, testImages), grid)));
      r.put("engine", rt.engine().id());
      r.put("model", rt.card().name());
      r.put("images", Math.min(testImages, test.count()));
      if (json) {
        out.println(oneLine(r));
      } else {
        r.forEach((k, v) -> out.printf("%-28s %s%n", k, v));
        out.printf("grid: %s%n", grid.toAbsolutePath());
      }
    }
    out.flush();
    return 0;
  }

  /** The result as one JSON line (--json: the last line a script reads). */
  private static String oneLine(Map<String, Object> r)
      throws com.fasterxml.jackson.core.JsonProcessingException {
    return ModelCard.JSON
        .writer()
        .without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
        .writeValueAsString(r);
  }

  private static Dataset folder(Path dir, TokenizerConfig c) throws java.io.IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    ImageTranslator pre =
        new ImageTranslator(
            c.imageSize(),
            c.channels(),
            ImageTranslator.Resize.FIT,
            ImageLimits.of(64 * 1024 * 1024, 100_000_000));
    List<float[]> ok = new ArrayList<>();
    for (Path f : files) {
      float[] px = new float[pre.floatsPerImage()];
      try {
        pre.decodeInto(Files.readAllBytes(f), "", px, 0);
        ok.add(px);
      } catch (RuntimeException e) {
        // not an image: skipped, and said
        System.err.println("eval: skipping " + f.getFileName() + ": " + e.getMessage());
      }
    }
    if (ok.isEmpty()) {
      throw new IllegalArgumentException("No readable images in " + dir);
    }
    float[] all = new float[ok.size() * pre.floatsPerImage()];
    for (int i = 0; i < ok.size(); i++) {
      System.arraycopy(ok.get(i), 0, all, i * pre.floatsPerImage(), pre.floatsPerImage());
    }
    return new Dataset(all, null, c.channels(), c.imageSize());
  }
}
