package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.softstream.model.TokenizerConfig;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evaluation on colour images, against codecs whose exact error is known. */
class EvaluationColourTest {
  /** 3x16x16 images; 12 tokens x 64 = 768 = 3 * 16 * 16 floats, so tokens can carry the pixels. */
  static final TokenizerConfig RGB16 =
      new TokenizerConfig(
          16, 3, 4, 12, 64, 8, 2, 0.07f, "none", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);

  /** Smooth random colour images whose 8-bit values stay in 20..235 (so +-3 never clips). */
  static Dataset smoothImages(int n, int size, long seed) {
    Random r = new Random(seed);
    float[] px = new float[n * 3 * size * size];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++) {
        double fx = r.nextDouble() * 0.5, fy = r.nextDouble() * 0.5, ph = r.nextDouble() * 6;
        for (int y = 0; y < size; y++) {
          for (int x = 0; x < size; x++) {
            int v = (int) Math.round(127.5 + 100 * Math.sin(fx * x + fy * y + ph));
            px[((i * 3 + c) * size + y) * size + x] = v / 127.5f - 1f;
          }
        }
      }
    }
    return new Dataset(px, null, 3, size);
  }

  /** Tokens = pixels; the decoder adds {@code noise[k % noise.length]} grey levels to value k. */
  static Evaluation.Codec codec(int... noise) {
    return new Evaluation.Codec() {
      @Override
      public float[] encode(float[] pixels, int batch) {
        return pixels.clone();
      }

      @Override
      public float[] decode(float[] tokens, int batch) {
        float[] y = tokens.clone();
        for (int k = 0; k < y.length; k++) {
          y[k] += noise.length == 0 ? 0 : noise[k % noise.length] / 127.5f;
        }
        return y;
      }
    };
  }

  @Test
  void identityCodecScoresTheCapAndSsimOne(@TempDir Path dir) throws Exception {
    Dataset test = smoothImages(6, 16, 1);
    Map<String, Object> r =
        Evaluation.evaluate(
            codec(), RGB16, null, test, new Evaluation.Options(6, 0, 2, dir.resolve("grid.png")));
    assertThat(r)
        .containsOnlyKeys(
            "psnr",
            "ssim",
            "mean_colour_psnr",
            "psnr_by_detail",
            "psnr_fp16_tokens",
            "token_bytes_per_image",
            "jpeg_psnr_at_equal_bytes",
            "bicubic_psnr_at_equal_bytes");
    assertThat((Double) r.get("psnr")).isEqualTo(100.0);
    assertThat((Double) r.get("ssim")).isCloseTo(1.0, within(1e-12));
    assertThat((Double) r.get("psnr_fp16_tokens")).isEqualTo(100.0);
    // The grid is colour: its first original pixel (scaled 2x, after a 2 px gap) is image 0's pixel
    // (0,0).
    BufferedImage grid = ImageIO.read(dir.resolve("grid.png").toFile());
    assertThat(grid.getColorModel().getNumColorComponents()).isEqualTo(3);
    int[] b = Evaluation.toBytes(test.pixels(), 0, 3 * 16 * 16);
    int expected = (b[0] << 16) | (b[256] << 8) | b[512];
    assertThat(grid.getRGB(2, 2) & 0xffffff).isEqualTo(expected);
    assertThat(grid.getRGB(3, 3) & 0xffffff).isEqualTo(expected);
    // Reconstructions row: identical colours for the identity codec.
    assertThat(grid.getRGB(2, 2 + 32 + 2) & 0xffffff).isEqualTo(expected);
  }

  @Test
  void knownNoiseGivesTheExpectedPsnrOverAllChannels() {
    Dataset test = smoothImages(4, 16, 2);
    // +-3 grey levels on every value of every channel: MSE 9, PSNR = 10 log10(255^2 / 9) = 38.588
    // dB.
    Map<String, Object> r =
        Evaluation.evaluate(codec(3, -3), RGB16, null, test, new Evaluation.Options(4, 0, 1, null));
    assertThat((Double) r.get("psnr")).isCloseTo(10 * Math.log10(255.0 * 255.0 / 9), within(1e-9));
    assertThat((Double) r.get("psnr_fp16_tokens")).isCloseTo(38.588, within(0.01));
    assertThat((Double) r.get("ssim")).isBetween(0.5, 0.999);
    // Noise on the red plane only (the first 256 values of each image): MSE 9 / 3 = 3.
    int[] redOnly = new int[768];
    java.util.Arrays.fill(redOnly, 0, 256, 3);
    Map<String, Object> red =
        Evaluation.evaluate(
            codec(redOnly), RGB16, null, test, new Evaluation.Options(4, 0, 1, null));
    assertThat((Double) red.get("psnr"))
        .isCloseTo(10 * Math.log10(255.0 * 255.0 / 3), within(1e-9));
    // SSIM is the mean over channels: green and blue are perfect.
    int[] b = Evaluation.toBytes(test.pixels(), 0, 768);
    int[] n = b.clone();
    for (int i = 0; i < 256; i++) {
      n[i] += 3;
    }
    double redSsim =
        Evaluation.ssim(java.util.Arrays.copyOf(b, 256), java.util.Arrays.copyOf(n, 256), 16);
    assertThat(Evaluation.ssim(b, n, 3, 16)).isCloseTo((redSsim + 2) / 3, within(1e-12));
  }

  @Test
  void codecBaselinesWorkInColourAndGrowWithBytes() {
    Dataset test = smoothImages(5, 64, 3);
    double jpeg1k = Evaluation.jpegPsnr(test, 5, 1024);
    double jpeg4k = Evaluation.jpegPsnr(test, 5, 4096);
    assertThat(jpeg1k).isFinite().isBetween(15.0, 60.0);
    assertThat(jpeg4k).isFinite().isGreaterThan(jpeg1k);
    // 1024 bytes of RGB = an 18x18 thumbnail; 64x64x3 bytes = the image itself (the cap).
    double bicubic = Evaluation.bicubicPsnr(test, 5, 1024);
    assertThat(bicubic).isFinite().isBetween(15.0, 60.0);
    assertThat(Evaluation.bicubicPsnr(test, 5, 3 * 64 * 64)).isEqualTo(100.0);
    // A colour JPEG round trip keeps the colours: decoding gives back 3 distinct planes.
    int[] a = Evaluation.toBytes(test.pixels(), 0, 3 * 64 * 64);
    int[] back = Evaluation.pixels(Evaluation.image(a, 3, 64), 3, 64);
    assertThat(back).isEqualTo(a);
  }

  @Test
  void meanColourBaselineAndDetailBuckets() {
    // 12 tokens x 16 = 192 values = one 3x8x8 image, as the identity codec needs. Image 0 flat
    // grey, image 1
    // with +-40 grey levels on every other value of the red plane only, image 2 a flat saturated
    // colour.
    int size = 8, plane = size * size, per = 3 * plane;
    float[] px = new float[3 * per];
    for (int i = 0; i < per; i++) {
      px[i] = 0.2f;
      px[per + i] = (i < plane && i % 2 == 0 ? 40 : i < plane ? -40 : 0) / 127.5f;
      px[2 * per + i] = i < plane ? 0.8f : i < 2 * plane ? -0.8f : 0f;
    }
    Dataset test = new Dataset(px, null, 3, size);
    TokenizerConfig rgb8 =
        new TokenizerConfig(
            8, 3, 4, 12, 16, 8, 2, 0.07f, "none", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);
    Map<String, Object> r =
        Evaluation.evaluate(codec(), rgb8, null, test, new Evaluation.Options(3, 0, 1, null));
    // Flat images: the mean colour is exact (cap); image 1: red values 40 away from their mean on
    // a third of all values -> MSE 1600 / 3.
    double detailed = 10 * Math.log10(255.0 * 255.0 / (1600.0 / 3));
    assertThat((Double) r.get("mean_colour_psnr"))
        .isCloseTo((100 + detailed + 100) / 3, within(0.02));
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> b = (Map<String, Map<String, Object>>) r.get("psnr_by_detail");
    assertThat(b).containsOnlyKeys("std<2.55", "std<5.1", "std<12.75", "std<25.5", "std>=25.5");
    // Detail is measured around each channel's mean: the saturated flat colour has none (over all
    // values
    // together its std would be 83 grey levels).
    assertThat(b.get("std<2.55"))
        .containsEntry("images", 2)
        .containsEntry("psnr", 100.0)
        .containsEntry("mean_colour_psnr", 100.0)
        .containsEntry("mean_std", 0.0);
    // sqrt(1600 / 3) = 23.1 -> the std<25.5 bucket; the identity codec is exact.
    assertThat(b.get("std<25.5")).containsEntry("images", 1).containsEntry("psnr", 100.0);
    assertThat((Double) b.get("std<25.5").get("mean_colour_psnr"))
        .isCloseTo(detailed, within(0.05));
    assertThat((Double) b.get("std<25.5").get("mean_std"))
        .isCloseTo(Math.sqrt(1600.0 / 3), within(0.05));
    assertThat(b.get("std>=25.5")).containsEntry("images", 0).containsEntry("psnr", null);
  }
}
