package io.softstream.worker.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.worker.TestImages;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
  final ImagePreprocessor gray32 = new ImagePreprocessor(32, 1, ImagePreprocessor.Resize.FIT, 1 << 20, 10_000_000);

  @Test
  void aSmallGrayImageIsCentredOnBlackExactlyAsTrainingPaddedFashionMnist() {
    BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        img.getRaster().setSample(x, y, 0, (x * 9 + y) % 256);
      }
    }
    float[] out = new float[32 * 32];
    gray32.decodeInto(TestImages.encode(img, "png"), "image/png", out, 0);
    assertThat(out[0]).isEqualTo(-1f); // border
    assertThat(out[31 * 32 + 31]).isEqualTo(-1f);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        assertThat(out[(y + 2) * 32 + x + 2]).isEqualTo(((x * 9 + y) % 256) / 127.5f - 1f);
      }
    }
  }

  @Test
  void everyImageIoFormatDecodesToTheModelShapeInRange() throws Exception {
    ImagePreprocessor rgb = new ImagePreprocessor(16, 3, ImagePreprocessor.Resize.CROP, 1 << 24, 100_000_000);
    for (String f : new String[] {"png", "jpg", "bmp", "gif"}) {
      float[] out = new float[3 * 16 * 16];
      Arrays.fill(out, 9f);
      rgb.decodeInto(TestImages.random(40, 30, f, 1), "image/" + f, out, 0);
      assertThat(Arrays.stream(toDouble(out)).min().orElseThrow()).isGreaterThanOrEqualTo(-1d);
      assertThat(Arrays.stream(toDouble(out)).max().orElseThrow()).isLessThanOrEqualTo(1d);
    }
    // WebP through the TwelveMonkeys ImageIO plugin, on a real wallpaper from gnome-backgrounds.
    Path webp;
    try (Stream<Path> s = Files.list(Path.of("/usr/share/backgrounds/gnome"))) {
      webp = s.filter(p -> p.toString().endsWith(".webp")).sorted().findFirst().orElseThrow();
    }
    float[] out = new float[3 * 16 * 16];
    rgb.decodeInto(Files.readAllBytes(webp), "image/webp", out, 0);
    assertThat(Arrays.stream(toDouble(out)).min().orElseThrow()).isGreaterThanOrEqualTo(-1d);
      assertThat(Arrays.stream(toDouble(out)).max().orElseThrow()).isLessThanOrEqualTo(1d);
    assertThat(Arrays.stream(toDouble(out)).distinct().count()).isGreaterThan(10);
  }

  @Test
  void poisonPillsAreNamedWithTheReason() {
    float[] out = new float[32 * 32];
    byte[] png = TestImages.random(20, 20, "png", 2);
    assertThatThrownBy(() -> gray32.decodeInto(Arrays.copyOf(png, png.length / 2), "image/png", out, 0))
        .isInstanceOf(PoisonRecordException.class).extracting("errorClass").isEqualTo("UndecodableImage");
    assertThatThrownBy(() -> gray32.decodeInto("hello".getBytes(), "image/png", out, 0))
        .isInstanceOf(PoisonRecordException.class).hasMessageContaining("accepted: PNG, JPEG, BMP, GIF, WebP")
        .extracting("errorClass").isEqualTo("UndecodableImage");
    assertThatThrownBy(() -> gray32.decodeInto(new byte[0], "image/png", out, 0))
        .extracting("errorClass").isEqualTo("EmptyPayload");
    assertThatThrownBy(() -> gray32.decodeInto(new byte[2 << 20], "image/png", out, 0))
        .hasMessageContaining("at most 1048576 (image.max.bytes)").extracting("errorClass").isEqualTo("OversizedPayload");
    assertThatThrownBy(() -> gray32.decodeInto(TestImages.pngHeader(100_000, 100_000), "image/png", out, 0))
        .hasMessageContaining("100000x100000").extracting("errorClass").isEqualTo("OversizedImage");
    assertThatThrownBy(() -> gray32.decodeInto(TestImages.zeroSizeBmp(), "image/bmp", out, 0))
        .isInstanceOf(PoisonRecordException.class)
        .extracting("errorClass").isIn("EmptyImage", "UndecodableImage");
  }

  @Test
  void modelPixelsRoundTripToAnImage() {
    float[] px = new float[3 * 4 * 4];
    for (int i = 0; i < px.length; i++) {
      px[i] = (i % 17) / 8.5f - 1f;
    }
    BufferedImage img = ImagePreprocessor.toImage(px, 0, 3, 4);
    ImagePreprocessor p = new ImagePreprocessor(4, 3, ImagePreprocessor.Resize.FIT, 1 << 20, 1000);
    float[] back = new float[px.length];
    p.decodeInto(io.softstream.worker.TestImages.encode(img, "png"), "image/png", back, 0);
    for (int i = 0; i < px.length; i++) {
      assertThat(back[i]).isCloseTo(px[i], org.assertj.core.data.Offset.offset(1f / 127.5f));
    }
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }
}
