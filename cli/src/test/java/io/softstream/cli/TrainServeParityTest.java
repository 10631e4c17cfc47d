package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.trainer.PhotoCrops;
import io.softstream.worker.WorkerConfig;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One picture file, two paths, the same model input to the last bit: the trainer's (a picture file
 * decoded by PhotoCrops, its centre square window turned into a training sample) and the encode
 * worker's (the file's bytes through the translator its config builds for the shipped photo model,
 * the resize policy its card names).
 */
class TrainServeParityTest {
  static final Path PHOTO_MODEL = Path.of("..", "models", "softvq-photo-64"); // tests run in cli/
  @TempDir Path dir;

  static void assertSameModelInput(Path file) throws Exception {
    TokenizerConfig model = ModelDir.readCard(PHOTO_MODEL).tokenizerConfig();
    int size = model.imageSize();
    // Training path.
    ImageTranslator train = PhotoCrops.translator(size);
    ImageTranslator.Picture pic = PhotoCrops.picture(train, file);
    int side = Math.min(pic.width(), pic.height());
    float[] trained = new float[3 * size * size];
    train.cropInto(pic, (pic.width() - side) / 2, (pic.height() - side) / 2, side, trained, 0);
    // Serving path.
    WorkerConfig config =
        new WorkerConfig(
            Map.of(
                WorkerConfig.BOOTSTRAP_SERVERS,
                "localhost:1",
                WorkerConfig.SCHEMA_REGISTRY_URL,
                "mock://parity",
                WorkerConfig.MODEL_DIR,
                PHOTO_MODEL.toString()));
    ImageTranslator serve = config.imageTranslator(model, ModelDir.readCard(PHOTO_MODEL));
    float[] served = new float[serve.floatsPerImage()];
    serve.decodeInto(Files.readAllBytes(file), "", served, 0);

    assertThat(served).as(file.toString()).isEqualTo(trained);
    float min = 1, max = -1;
    for (float v : served) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertThat(max - min).as("real picture content").isGreaterThan(0.1f);
  }

  @Test
  void aMateJpegGivesTheSameInputInTrainingAndInService() throws Exception {
    Path jpeg = Path.of("/usr/share/backgrounds/mate/nature/YellowFlower.jpg");
    Assumptions.assumeTrue(Files.exists(jpeg), "needs the Debian package mate-backgrounds");
    assertSameModelInput(jpeg);
  }

  @Test
  void aGnomeWebpGivesTheSameInputInTrainingAndInService() throws Exception {
    Path webp = Path.of("/usr/share/backgrounds/gnome/adwaita-l.webp");
    Assumptions.assumeTrue(Files.exists(webp), "needs the Debian package gnome-backgrounds");
    assertSameModelInput(webp);
  }

  @Test
  void aPngWithAlphaGivesTheSameInputInTrainingAndInService() throws Exception {
    // 300 x 200, colour ramps under an alpha ramp from transparent to opaque: both paths composite
    // over grey.
    BufferedImage img = new BufferedImage(300, 200, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < 200; y++) {
      for (int x = 0; x < 300; x++) {
        img.setRGB(
            x, y, (x * 255 / 299) << 24 | (x % 256) << 16 | (y % 256) << 8 | ((x + y) % 256));
      }
    }
    Path png = dir.resolve("alpha.png");
    ImageIO.write(img, "png", png.toFile());
    assertSameModelInput(png);
    // And a real transparent MATE wallpaper (its pattern is all in the alpha channel).
    Path silk = Path.of("/usr/share/backgrounds/mate/abstract/Silk.png");
    if (Files.exists(silk)) {
      assertSameModelInput(silk);
    }
  }
}
