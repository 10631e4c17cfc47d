package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerRunTest {
  private static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");

  @BeforeAll
  static void needsData() {
    Assumptions.assumeTrue(
        Files.isDirectory(DATA), "requires Debian package dataset-fashion-mnist");
  }

  static TrainConfig tiny(Path dir, String quantizer, int steps) {
    TokenizerConfig m =
        new TokenizerConfig(
            32, 1, 8, 4, 8, 16, 2, 0.07f, quantizer, 0.01f, 0.01f, 0.25f, 32, 1, 2, 32, 1, 2, 2);
    return TrainConfig.defaults()
        .withOverrides(
            Map.of(
                "train_limit",
                "64",
                "steps",
                String.valueOf(steps),
                "batch_size",
                "16",
                "lr",
                "0.002",
                "warmup_steps",
                "0",
                "log_every",
                "5",
                "teacher_steps",
                "3",
                "teacher_width",
                "4",
                "align_hidden",
                "16",
                "eval_images",
                "0"))
        .withModel(m, dir);
  }

  @Test
  void lossFallsAndModelDirReloadsWithSameNumbers(@TempDir Path dir) throws Exception {
    TrainConfig cfg =
        tiny(dir, "softvq", 40)
            .withOverrides(Map.of("eval_images", "40", "probe_train_images", "64"));
    TrainingReport r = TrainerRun.run(cfg, new PrintStream(new ByteArrayOutputStream()));
    assertThat(r.finished()).isTrue();
    assertThat(r.finalLoss()).isLessThan(r.firstLoss() * 0.8);
    assertThat(r.evaluation())
        .containsOnlyKeys(
            "psnr",
            "ssim",
            "mean_colour_psnr",
            "psnr_by_detail",
            "psnr_fp16_tokens",
            "token_bytes_per_image",
            "jpeg_psnr_at_equal_bytes",
            "bicubic_psnr_at_equal_bytes",
            "linear_probe_accuracy");
    assertThat(r.evaluation().get("token_bytes_per_image"))
        .isEqualTo(Map.of("fp16", 64, "fp32", 128));
    // Half precision keeps ~3 significant digits: the decoded images barely change.
    assertThat((Double) r.evaluation().get("psnr_fp16_tokens"))
        .isCloseTo((Double) r.evaluation().get("psnr"), org.assertj.core.data.Offset.offset(0.1));
    Path out = Path.of(r.modelDir());
    assertThat(out.resolve("reconstructions.png")).exists();
    assertThat(out.resolve("README.md")).exists();
    ModelCard card = ModelDir.readCard(out);
    assertThat(card.tokenizerConfig()).isEqualTo(cfg.model());
    assertThat(card.metrics()).containsKeys("psnr", "heldout_psnr_256");
    try (NDManager m = NDManager.newBaseManager()) {
      TokenEncoder enc = ModelDir.loadEncoder(out, m);
      TokenDecoder dec = ModelDir.loadDecoder(out, m);
      Dataset test = Dataset.fashionMnist(DATA, false, 256);
      assertThat(Evaluation.psnr(enc, dec, test, 256)).isEqualTo(r.heldoutPsnr());
    }
  }

  @Test
  void resumedRunEqualsUninterruptedRun(@TempDir Path dir) throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    TrainConfig a =
        tiny(dir, "softvq", 4)
            .withOverrides(
                Map.of(
                    "checkpoint_dir",
                    "\"" + dir.resolve("ckA") + "\"",
                    "output_dir",
                    "\"" + dir.resolve("outA") + "\""));
    TrainingReport first = TrainerRun.run(a.withOverrides(Map.of("stop_at_step", "2")), quiet);
    assertThat(first.finished()).isFalse();
    TrainingReport resumed = TrainerRun.run(a, quiet);
    assertThat(resumed.startStep()).isEqualTo(2);
    TrainConfig b =
        a.withOverrides(
            Map.of(
                "checkpoint_dir",
                "\"" + dir.resolve("ckB") + "\"",
                "output_dir",
                "\"" + dir.resolve("outB") + "\""));
    TrainerRun.run(b, quiet);
    for (String f :
        new String[] {
          "encoder.params", "decoder.params", "projector.params", "optimizer.ndlist", "ema.ndlist"
        }) {
      assertThat(Files.mismatch(dir.resolve("ckA").resolve(f), dir.resolve("ckB").resolve(f)))
          .as(f)
          .isEqualTo(-1L);
    }
    assertThat(
            Files.mismatch(dir.resolve("outA/encoder.params"), dir.resolve("outB/encoder.params")))
        .isEqualTo(-1L);
  }

  @Test
  void decoderConvolutionFineTunesFromAModelWithoutOne(@TempDir Path dir) throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    TrainerRun.run(tiny(dir, "softvq", 4).withOverrides(out(dir, "base")), quiet);
    Map<String, String> conv =
        Map.of("model.dec_conv_kernel", "3", "init_from", "\"" + dir.resolve("base") + "\"");
    TrainingReport tuned =
        TrainerRun.run(
            tiny(dir, "softvq", 4).withOverrides(conv).withOverrides(out(dir, "tuned")), quiet);
    assertThat(ModelDir.readCard(dir.resolve("tuned")).tokenizerConfig().decConvKernel())
        .isEqualTo(3);
    assertThat(dir.resolve("tuned/README.md"))
        .content()
        .contains("a 3x3 convolution over the decoder's patch grid");
    try (NDManager m = NDManager.newBaseManager()) {
      TokenDecoder dec = ModelDir.loadDecoder(dir.resolve("tuned"), m);
      NDArray w = dec.getParameters().get("conv_weight").getArray();
      assertThat(w.getShape()).isEqualTo(new Shape(8 * 8, 32, 3, 3));
      assertThat(w.abs().max().getFloat()).as("the convolution learned").isPositive();
    }
    // A model with the convolution cannot start a run without it.
    assertThatThrownBy(
            () ->
                TrainerRun.run(
                    tiny(dir, "softvq", 1)
                        .withOverrides(Map.of("init_from", "\"" + dir.resolve("tuned") + "\""))
                        .withOverrides(out(dir, "back")),
                    quiet))
        .hasMessageContaining("fine-tuning needs the same architecture");
    assertThat(tuned.finalLoss()).isFinite();
  }

  private static Map<String, String> out(Path dir, String name) {
    return Map.of("output_dir", "\"" + dir.resolve(name) + "\"");
  }

  @Test
  void baselinesRunOnTheSameCodePath(@TempDir Path dir) throws Exception {
    for (String q : new String[] {"hardvq", "none"}) {
      TrainingReport r =
          TrainerRun.run(
              tiny(dir, q, 2).withOverrides(Map.of("output_dir", "\"" + dir.resolve(q) + "\"")),
              new PrintStream(new ByteArrayOutputStream()));
      assertThat(r.quantizer()).isEqualTo(q);
      assertThat(r.finalLoss()).isFinite();
    }
    TrainingReport hog =
        TrainerRun.run(
            tiny(dir, "softvq", 2)
                .withOverrides(
                    Map.of("align_target", "hog", "output_dir", "\"" + dir.resolve("hog") + "\"")),
            new PrintStream(new ByteArrayOutputStream()));
    assertThat(hog.finalLoss()).isFinite();
  }

  @Test
  void overridesAreTypedAndUnknownKeysRejected() {
    TrainConfig c =
        TrainConfig.defaults()
            .withOverrides(
                Map.of(
                    "model.tokens",
                    "16",
                    "model.quantizer",
                    "hardvq",
                    "align",
                    "false",
                    "lr",
                    "1e-3"));
    assertThat(c.model().tokens()).isEqualTo(16);
    assertThat(c.model().quantizer()).isEqualTo("hardvq");
    assertThat(c.align()).isFalse();
    assertThat(c.lr()).isEqualTo(1e-3f);
    assertThatThrownBy(() -> TrainConfig.defaults().withOverrides(Map.of("model.tokenz", "16")))
        .hasMessageContaining("Unknown config key model.tokenz");
    assertThatThrownBy(() -> TrainConfig.defaults().withOverrides(Map.of("model.quantizer", "fsq")))
        .hasMessageContaining("quantizer must be");
  }

  @Test
  void metricBasics() {
    int[] a = new int[32 * 32];
    for (int i = 0; i < a.length; i++) {
      a[i] = (i * 37) % 256;
    }
    assertThat(Evaluation.psnr(a, a)).isEqualTo(100.0);
    assertThat(Evaluation.ssim(a, a, 32))
        .isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-9));
    int[] b = a.clone();
    b[0] = a[0] + 16; // MSE = 256/1024 -> PSNR = 10 log10(255^2 * 4)
    assertThat(Evaluation.psnr(a, b))
        .isCloseTo(
            10 * Math.log10(255.0 * 255.0 * 4), org.assertj.core.api.Assertions.within(1e-9));
  }
}
