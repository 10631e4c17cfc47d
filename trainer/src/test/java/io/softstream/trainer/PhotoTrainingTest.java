package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny training run on real wallpaper crops (dataset=photos). */
class PhotoTrainingTest {

  @Test
  void tinyPhotoRunReducesTheLossAndEvaluatesInColour(@TempDir Path dir) throws Exception {
    Path mate = PhotoTestData.smallMate(dir.resolve("pictures"));
    TokenizerConfig m =
        new TokenizerConfig(
            16, 3, 4, 4, 8, 16, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 32, 1, 2, 32, 1, 2, 2);
    TrainConfig cfg =
        TrainConfig.defaults()
            .withOverrides(
                Map.of(
                    "dataset",
                    "photos",
                    "photo_dirs",
                    "[\"" + mate + "\"]",
                    "photo_train_crops",
                    "48",
                    "photo_heldout_crops",
                    "12",
                    "photo_max_side",
                    "128",
                    "align_target",
                    "hog"))
            .withOverrides(
                Map.of(
                    "steps",
                    "40",
                    "batch_size",
                    "16",
                    "lr",
                    "0.002",
                    "warmup_steps",
                    "0",
                    "log_every",
                    "5",
                    "align_hidden",
                    "16",
                    "eval_images",
                    "12"))
            .withModel(m, dir);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    TrainingReport r = TrainerRun.run(cfg, new PrintStream(log, true, StandardCharsets.UTF_8));
    assertThat(log.toString(StandardCharsets.UTF_8))
        .contains("photos: 48 crops of 16x16 from 3 of 3 training files")
        .contains("photos: 12 crops of 16x16 from 2 of 2 held-out files");
    assertThat(r.finished()).isTrue();
    assertThat(r.finalLoss()).isLessThan(r.firstLoss() * 0.8);
    // Unlabelled: no linear probe; every other metric, in colour.
    assertThat(r.evaluation())
        .containsOnlyKeys(
            "psnr",
            "ssim",
            "mean_colour_psnr",
            "psnr_by_detail",
            "psnr_fp16_tokens",
            "token_bytes_per_image",
            "jpeg_psnr_at_equal_bytes",
            "bicubic_psnr_at_equal_bytes");
    assertThat((Double) r.evaluation().get("psnr")).isBetween(5.0, 40.0);
    ModelCard card = ModelDir.readCard(Path.of(r.modelDir()));
    assertThat(card.tokenizerConfig().channels()).isEqualTo(3);
    assertThat(card.training())
        .containsEntry("dataset", "photos")
        .containsEntry("align_target", "hog");
    assertThat((String) card.training().get("data")).contains("crops").contains("CRC32");
    BufferedImage grid =
        ImageIO.read(Path.of(r.modelDir()).resolve("reconstructions.png").toFile());
    assertThat(grid.getColorModel().getNumColorComponents()).isEqualTo(3);
  }

  @Test
  void photosNeedHogAlignmentOrNone() {
    assertThatThrownBy(() -> TrainConfig.defaults().withOverrides(Map.of("dataset", "photos")))
        .hasMessageContaining("align_target=hog");
    assertThatThrownBy(() -> TrainConfig.defaults().withOverrides(Map.of("dataset", "cifar")))
        .hasMessageContaining("dataset must be fashion-mnist or photos");
    assertThat(
            TrainConfig.defaults()
                .withOverrides(Map.of("dataset", "photos", "align", "false"))
                .photos())
        .isTrue();
  }
}
