package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `softstream eval --dataset photos` on real held-out wallpaper crops (two small pictures, to stay
 * fast).
 */
class EvalPhotosTest {
  static final Path MATE = Path.of("/usr/share/backgrounds/mate");
  @TempDir Path dir;
  Path pictures;

  @BeforeEach
  void heldOutPictures() throws Exception {
    Assumptions.assumeTrue(
        Files.isDirectory(MATE) && Files.isDirectory(Path.of("/usr/share/backgrounds/gnome")),
        "SKIPPED: needs the Debian packages gnome-backgrounds and mate-backgrounds; scripts/install-deps.sh installs them");
    pictures = dir.resolve("mate");
    // Both are held-out pictures under the split rule (CRC32 of the picture key % 5 == 0).
    for (String f : new String[] {"nature/YellowFlower.jpg", "abstract/Silk.png"}) {
      Files.createDirectories(pictures.resolve(f).getParent());
      Files.copy(MATE.resolve(f), pictures.resolve(f));
    }
  }

  private JsonNode eval(String... args) throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    int code = cl.execute(args);
    assertThat(code).as(out.toString()).isZero();
    return ModelCard.JSON.readTree(out.toString().strip());
  }

  @Test
  void evalOnPhotosGivesColourMetricsWithoutAProbe() throws Exception {
    TokenizerConfig cfg =
        new TokenizerConfig(
            16, 3, 4, 4, 8, 16, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);
    Path model = dir.resolve("model");
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      ModelDir.saveTokenizer(
          model,
          ModelCard.tokenizer("tiny-rgb", cfg, Map.of("steps", 0), Map.of()),
          ModelDir.newEncoder(cfg, m),
          ModelDir.newDecoder(cfg, m));
    }
    Path grid = dir.resolve("grid.png");
    JsonNode r =
        eval(
            "eval",
            "--dataset",
            "photos",
            "--photo-dirs",
            pictures.toString(),
            "--model",
            model.toString(),
            "--test-images",
            "6",
            "--json",
            "--engine",
            "pytorch",
            "--grid",
            grid.toString());
    assertThat(r.get("images").asInt()).isEqualTo(6);
    assertThat(r.get("model").asText()).isEqualTo("tiny-rgb");
    // An untrained model: a poor but finite score; the baselines are real colour codecs at 64 / 128
    // bytes.
    assertThat(r.get("psnr").asDouble()).isBetween(1.0, 30.0);
    assertThat(r.get("psnr_fp16_tokens").asDouble()).isBetween(1.0, 30.0);
    assertThat(r.get("token_bytes_per_image").get("fp16").asInt()).isEqualTo(4 * 8 * 2);
    // (No JFIF file fits 128 bytes; the baseline then scores quality 0, as for every model.)
    assertThat(r.get("jpeg_psnr_at_equal_bytes").get("fp32").asDouble()).isBetween(5.0, 100.0);
    assertThat(r.get("bicubic_psnr_at_equal_bytes").get("fp32").asDouble()).isBetween(10.0, 60.0);
    assertThat(r.has("linear_probe_accuracy")).isFalse();
    assertThat(ImageIO.read(grid.toFile()).getColorModel().getNumColorComponents()).isEqualTo(3);
  }

  @Test
  void withoutModelTheShippedPhotoTokenizerIsScored() throws Exception {
    String before = System.getProperty("softstream.root");
    System.setProperty("softstream.root", Path.of("..").toAbsolutePath().normalize().toString());
    try {
      JsonNode r =
          eval(
              "eval",
              "--dataset",
              "photos",
              "--photo-dirs",
              pictures.toString(),
              "--test-images",
              "8",
              "--json",
              "--grid",
              dir.resolve("grid.png").toString());
      assertThat(r.get("model").asText()).isEqualTo("softvq-photo-64");
      assertThat(r.get("images").asInt()).isEqualTo(8);
      // The trained model on 8 crops of two held-out pictures (the card has the 1000-crop figures).
      assertThat(r.get("psnr").asDouble()).isBetween(PSNR_MIN, 40.0);
      assertThat(r.get("psnr_fp16_tokens").asDouble())
          .isCloseTo(r.get("psnr").asDouble(), org.assertj.core.data.Offset.offset(0.05));
      assertThat(r.get("token_bytes_per_image").get("fp16").asInt()).isEqualTo(32 * 16 * 2);
    } finally {
      if (before == null) {
        System.clearProperty("softstream.root");
      } else {
        System.setProperty("softstream.root", before);
      }
    }
  }

  static final double PSNR_MIN = 18.0;
}
