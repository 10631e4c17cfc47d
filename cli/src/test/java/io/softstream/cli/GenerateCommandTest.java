package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code softstream generate} with the shipped defaults: the generator and the tokenizer its card
 * names.
 */
class GenerateCommandTest {
  @TempDir Path dir;
  private String rootBefore;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void projectRoot() {
    rootBefore = System.getProperty("softstream.root");
    System.setProperty("softstream.root", Path.of("..").toAbsolutePath().normalize().toString());
  }

  @AfterEach
  void restoreRoot() {
    if (rootBefore == null) {
      System.clearProperty("softstream.root");
    } else {
      System.setProperty("softstream.root", rootBefore);
    }
  }

  private int run(String... args) {
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  @Test
  void defaultsAreTheShippedGeneratorDecodedByTheTokenizerItWasTrainedOn() throws Exception {
    assertThat(new GeneratorOptions().generatorDir().getFileName().toString())
        .isEqualTo("gen-fmnist-16");
    assertThat(new GeneratorOptions().defaultTokenizer().getFileName().toString())
        .isEqualTo("softvq-fmnist-16");

    Path png = dir.resolve("boots.png");
    int code =
        run(
            "generate",
            "--prompt",
            "ankle boot",
            "--count",
            "4",
            "--steps",
            "10",
            "--engine",
            "pytorch",
            "--out",
            png.toString());
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("4 images of class 9 (Ankle boot) from gen-fmnist-16, 10 euler steps");
    BufferedImage grid = ImageIO.read(png.toFile());
    // 2 x 2 images of 32 x 32 with 2-pixel gaps.
    assertThat(grid.getWidth()).isEqualTo(2 * 34 + 2);
    assertThat(grid.getHeight()).isEqualTo(2 * 34 + 2);
  }

  @Test
  void aTokenizerWithAnotherTokenShapeIsRefusedWithTheReason() {
    int code =
        run(
            "generate",
            "--label",
            "1",
            "--count",
            "1",
            "--steps",
            "2",
            "--engine",
            "pytorch",
            "--model",
            Path.of("..", "models", "softvq-fmnist-32").toString(),
            "--out",
            dir.resolve("x.png").toString());
    assertThat(code).isNotZero();
    assertThat(err.toString())
        .contains("makes 16x16 tokens but tokenizer")
        .contains("decodes 32x16");
  }
}
