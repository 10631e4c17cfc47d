package io.softstream.trainer.generator;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TeacherClassifier;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny judge run on real Fashion-MNIST: saved, reloadable with its depth, card with the
 * documented metrics.
 */
class JudgeTrainerTest {
  private static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");

  @Test
  void tinyRunSavesADeeperJudgeWithItsAccuracies(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(DATA), "requires Debian package dataset-fashion-mnist");
    Path out = dir.resolve("tiny-judge");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Map<String, Object> m =
        JudgeTrainer.run(
            new JudgeTrainer.Config(
                DATA, out, null, 4, 4, 100, 16, 3e-3f, 0.05f, 10, 2, true, 0.1f, 64, 50, 3, 320),
            new PrintStream(log, true));
    String text = log.toString();
    assertThat(text)
        .contains(
            "judge: width 4 depth 4",
            "on 256 training images (val 64)",
            "step 100/100 loss",
            "step 50 val accuracy",
            "val accuracy",
            "test accuracy",
            "saved judge to " + out);
    assertThat((double) m.get("val_accuracy")).isBetween(0.0, 1.0);
    assertThat((double) m.get("test_accuracy")).isBetween(0.0, 1.0);
    assertThat((List<?>) m.get("test_accuracy_per_class")).hasSize(10);
    assertThat(m).doesNotContainKey("reconstruction_accuracy");

    ModelCard card = ModelDir.readCard(out);
    assertThat(card.kind()).isEqualTo(ModelCard.KIND_TEACHER);
    assertThat(card.name()).isEqualTo("tiny-judge");
    assertThat(card.config())
        .containsEntry("width", 4)
        .containsEntry("depth", 4)
        .containsEntry("feature_dim", 12);
    assertThat(card.metrics()).containsEntry("test_accuracy", m.get("test_accuracy"));
    try (NDManager nd = NDManager.newBaseManager("PyTorch")) {
      TeacherClassifier t = ModelDir.loadTeacher(out, nd);
      assertThat(t.depth()).isEqualTo(4);
      assertThat(t.featureDim()).isEqualTo(12);
    }
  }

  @Test
  void shiftsFillWithBackgroundAndFlipsMirror() {
    float[] src = new float[16];
    for (int i = 0; i < 16; i++) {
      src[i] = i;
    }
    float[] dst = new float[16];
    JudgeTrainer.augment(src, 0, dst, 0, 4, 1, 0, false);
    assertThat(dst).containsExactly(-1, 0, 1, 2, -1, 4, 5, 6, -1, 8, 9, 10, -1, 12, 13, 14);
    JudgeTrainer.augment(src, 0, dst, 0, 4, 0, -1, true);
    assertThat(dst).containsExactly(7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, -1, -1, -1, -1);
  }
}
