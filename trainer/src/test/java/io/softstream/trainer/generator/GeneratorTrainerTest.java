package io.softstream.trainer.generator;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.Sampler;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny training run and evaluation on real Fashion-MNIST with a random tiny tokenizer and
 * teacher.
 */
class GeneratorTrainerTest {
  private static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");

  @Test
  void tinyRunTrainsSavesReloadsAndEvaluates(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(DATA), "requires Debian package dataset-fashion-mnist");
    // 32x32 like the data, but tiny widths: 16 patches of 8x8, 4 tokens of 4.
    TokenizerConfig tc =
        new TokenizerConfig(
            32, 1, 8, 4, 4, 8, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);
    Path tok = dir.resolve("tok");
    Path teacher = dir.resolve("teacher");
    Engine.getEngine("PyTorch").setRandomSeed(1);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      ModelDir.saveTokenizer(
          tok,
          ModelCard.tokenizer("tiny-tok", tc, Map.of(), Map.of()),
          ModelDir.newEncoder(tc, m),
          ModelDir.newDecoder(tc, m));
      ModelDir.saveTeacher(
          teacher,
          new ModelCard(
              1,
              "tiny-teacher",
              ModelCard.KIND_TEACHER,
              Map.of("width", 4, "classes", 10),
              Map.of(),
              Map.of()),
          ModelDir.newTeacher(4, 10, 1, 32, m));
    }
    Path out = dir.resolve("gen");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    GeneratorTrainer.Report r =
        GeneratorTrainer.run(
            GeneratorTrainConfig.tiny(tok, DATA, out, 20), new PrintStream(log, true));

    String text = log.toString();
    assertThat(text)
        .contains(
            "encoded 64 training images with tiny-tok",
            "step 20/20 loss",
            "img/s",
            "ETA",
            "saved tiny-gen");
    assertThat(r.losses()).hasSize(4).allSatisfy(l -> assertThat(l).isFinite().isPositive());
    assertThat(r.losses().get(3)).isLessThan(r.losses().get(0));
    assertThat(r.latentStd()).isPositive();

    ModelCard card = GeneratorDir.readCard(out);
    assertThat(card.kind()).isEqualTo("generator");
    assertThat(card.training()).containsEntry("tokenizer", "tiny-tok").containsEntry("steps", 20);
    GeneratorConfig gc = GeneratorDir.config(card);
    assertThat(gc.latentMean()).isEqualTo(r.latentMean());
    assertThat(gc.latentStd()).isEqualTo(r.latentStd());
    try (GeneratorRuntime g = GeneratorRuntime.open(out)) {
      float[] a =
          g.sample(
              new int[] {1, 2}, new long[] {5, 6}, Sampler.Settings.of(Sampler.Method.HEUN, 3, 2f));
      assertThat(a)
          .hasSize(2 * 16)
          .containsExactly(
              g.sample(
                  new int[] {1, 2},
                  new long[] {5, 6},
                  Sampler.Settings.of(Sampler.Method.HEUN, 3, 2f)));
    }

    Path grid = dir.resolve("grid.png");
    Map<String, Object> m =
        GeneratorEval.evaluate(
            out,
            tok,
            teacher,
            DATA,
            new GeneratorEval.Options(
                3,
                40,
                Sampler.Settings.of(Sampler.Method.EULER, 2, 3f),
                0,
                16,
                List.of(1f, 2f),
                List.of(1, 3),
                1,
                GeneratorMain.sweep("heun:2:2:0.1:0.9,sde:3:1.5"),
                true,
                dir.resolve("cache")),
            grid);
    assertThat(m)
        .containsKeys(
            "class_consistency",
            "class_consistency_per_class",
            "frechet_generated",
            "frechet_reconstruction",
            "judge_accuracy_real",
            "judge_accuracy_per_class_real",
            "judge_accuracy_reconstruction",
            "judge_accuracy_per_class_reconstruction",
            "generation_images_per_second");
    assertThat(m).containsEntry("judge", "teacher");
    assertThat((List<?>) m.get("judge_accuracy_per_class_real")).hasSize(10);
    assertThat((double) m.get("class_consistency")).isBetween(0.0, 1.0);
    assertThat((List<?>) m.get("class_consistency_per_class")).hasSize(10);
    assertThat((double) m.get("frechet_generated")).isNotNegative();
    assertThat((double) m.get("frechet_reconstruction")).isNotNegative();
    assertThat(m).containsEntry("generated_images", 30).containsEntry("real_images", 40);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> gCurve = (List<Map<String, Object>>) m.get("guidance_curve");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> sCurve = (List<Map<String, Object>>) m.get("steps_curve");
    assertThat(gCurve)
        .hasSize(2)
        .allSatisfy(
            e ->
                assertThat(e)
                    .containsEntry("generated_images", 10)
                    .containsEntry("steps", 2)
                    .containsKey("frechet_generated"));
    assertThat(gCurve.get(1)).containsEntry("guidance_scale", 2f);
    assertThat(sCurve).hasSize(2);
    assertThat(sCurve.get(1)).containsEntry("steps", 3).containsEntry("guidance_scale", 3f);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> sweep = (List<Map<String, Object>>) m.get("sampler_sweep");
    assertThat(sweep).hasSize(2);
    assertThat(sweep.get(0))
        .containsEntry("sampler", "heun")
        .containsEntry("steps", 2)
        .containsEntry("guidance_scale", 2f)
        .containsEntry("guidance_interval", List.of(0.1f, 0.9f))
        .containsEntry("generated_images", 10);
    assertThat(sweep.get(1))
        .containsEntry("sampler", "sde")
        .containsEntry("steps", 3)
        .containsEntry("guidance_interval", List.of(0f, 1f));
    // A second evaluation reads the generated images from the cache: same figures, same recorded
    // speed.
    String hash = GeneratorEval.weightsHash(out);
    assertThat(hash).hasSize(12);
    try (var files = Files.list(dir.resolve("cache"))) {
      assertThat(files.map(f -> f.getFileName().toString()).toList())
          .contains(
              "gen-" + hash + "-euler-2-g3.0-0.0-1.0-n30-s0.f32",
              "gen-" + hash + "-heun-2-g2.0-0.1-0.9-n10-s0.f32")
          .hasSize(7);
    }
    Map<String, Object> again =
        GeneratorEval.evaluate(
            out,
            tok,
            teacher,
            DATA,
            new GeneratorEval.Options(
                3,
                40,
                Sampler.Settings.of(Sampler.Method.EULER, 2, 3f),
                0,
                16,
                List.of(),
                List.of(),
                1,
                List.of(),
                false,
                dir.resolve("cache")),
            null);
    assertThat(again)
        .containsEntry("class_consistency", m.get("class_consistency"))
        .containsEntry("frechet_generated", m.get("frechet_generated"))
        .containsEntry("generation_images_per_second", m.get("generation_images_per_second"))
        .doesNotContainKey("frechet_reconstruction");
    // Retrained in place (other weights, same directory name): its images are generated anew, not
    // read from the cache.
    GeneratorTrainer.run(
        GeneratorTrainConfig.tiny(tok, DATA, out, 10),
        new PrintStream(new ByteArrayOutputStream(), true));
    assertThat(GeneratorEval.weightsHash(out)).isNotEqualTo(hash);
    GeneratorEval.evaluate(
        out,
        tok,
        teacher,
        DATA,
        new GeneratorEval.Options(
            3,
            40,
            Sampler.Settings.of(Sampler.Method.EULER, 2, 3f),
            0,
            16,
            List.of(),
            List.of(),
            1,
            List.of(),
            false,
            dir.resolve("cache")),
        null);
    try (var files = Files.list(dir.resolve("cache"))) {
      assertThat(files.map(f -> f.getFileName().toString()).toList())
          .hasSize(8)
          .contains("gen-" + GeneratorEval.weightsHash(out) + "-euler-2-g3.0-0.0-1.0-n30-s0.f32");
    }
    var img = ImageIO.read(grid.toFile());
    assertThat(img.getHeight()).isEqualTo(10 * 34 + 2);
    assertThat(img.getWidth()).isEqualTo(3 * 34 + 2);
  }

  @Test
  void tinyPixelPatchBaselineTrainsWithA2dEmbeddingAndEvaluatesWithoutATokenizer(@TempDir Path dir)
      throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(DATA), "requires Debian package dataset-fashion-mnist");
    Path teacher = dir.resolve("teacher");
    Engine.getEngine("PyTorch").setRandomSeed(1);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      ModelDir.saveTeacher(
          teacher,
          new ModelCard(
              1,
              "tiny-teacher",
              ModelCard.KIND_TEACHER,
              Map.of("width", 4, "classes", 10),
              Map.of(),
              Map.of()),
          ModelDir.newTeacher(4, 10, 1, 32, m));
    }
    Path out = dir.resolve("gen2d");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    GeneratorTrainer.Report r =
        GeneratorTrainer.runPixels(
            GeneratorTrainConfig.tiny(null, DATA, out, 10), 8, new PrintStream(log, true));
    assertThat(log.toString())
        .contains("with pixel patches 8x8", "latents 16x64", "step 10/10 loss");
    assertThat(r.losses()).allSatisfy(l -> assertThat(l).isFinite());
    ModelCard card = GeneratorDir.readCard(out);
    GeneratorConfig gc = GeneratorDir.config(card);
    assertThat(gc.posEmbed()).isEqualTo(GeneratorConfig.POS_2D);
    assertThat(gc.tokens()).isEqualTo(16);
    assertThat(gc.codeDim()).isEqualTo(64);
    assertThat(io.softstream.model.generator.PixelPatches.fromCard(card))
        .contains(new io.softstream.model.generator.PixelPatches(32, 8, 1));
    Map<String, Object> m =
        GeneratorEval.evaluate(
            out,
            null,
            teacher,
            DATA,
            new GeneratorEval.Options(
                2, 30, Sampler.Settings.of(Sampler.Method.EULER, 2, 3f), 0, 16),
            null);
    assertThat(m)
        .containsEntry("generated_images", 20)
        .containsKeys("class_consistency", "frechet_generated");
    // the pixel "tokenizer" is exact: its reconstructions are the real images
    assertThat((double) m.get("frechet_reconstruction")).isLessThan(1e-3);
    assertThat(m.get("judge_accuracy_reconstruction")).isEqualTo(m.get("judge_accuracy_real"));
    assertThat(m.get("judge_accuracy_per_class_reconstruction"))
        .isEqualTo(m.get("judge_accuracy_per_class_real"));
  }

  @Test
  void learningRateWarmsUpThenFollowsTheCosine() {
    GeneratorTrainConfig c =
        GeneratorTrainConfig.tiny(Path.of("t"), Path.of("d"), Path.of("o"), 102);
    assertThat(GeneratorTrainer.learningRate(c, 0)).isEqualTo(c.lr() / 2);
    assertThat(GeneratorTrainer.learningRate(c, 1)).isEqualTo(c.lr());
    assertThat(GeneratorTrainer.learningRate(c, 52))
        .isCloseTo((c.lr() + c.minLr()) / 2, org.assertj.core.api.Assertions.within(1e-6f));
    assertThat(GeneratorTrainer.learningRate(c, 102))
        .isCloseTo(c.minLr(), org.assertj.core.api.Assertions.within(1e-7f));
    assertThat(GeneratorTrainer.hms(3725)).isEqualTo("1:02:05");
  }
}
