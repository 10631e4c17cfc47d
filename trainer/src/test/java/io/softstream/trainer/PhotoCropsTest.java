package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PhotoCropsTest {
  @TempDir static Path tmp;
  static List<String> dirs;

  @BeforeAll
  static void pictures() throws Exception {
    dirs = List.of(PhotoTestData.smallMate(tmp).toString());
  }

  @Test
  void cropsAreRgbInRangeAndDeterministicBySeed() throws Exception {
    Dataset a = PhotoCrops.load(dirs, false, 12, 64, 512, 7, null);
    Dataset b = PhotoCrops.load(dirs, false, 12, 64, 512, 7, null);
    Dataset c = PhotoCrops.load(dirs, false, 12, 64, 512, 8, null);
    assertThat(a.count()).isEqualTo(12);
    assertThat(a.channels()).isEqualTo(3);
    assertThat(a.size()).isEqualTo(64);
    assertThat(a.labels()).isNull();
    assertThat(a.pixels()).hasSize(12 * 3 * 64 * 64);
    assertThat(a.pixels()).isEqualTo(b.pixels());
    assertThat(a.pixels()).isNotEqualTo(c.pixels());
    double sum = 0, sq = 0;
    for (float v : a.pixels()) {
      assertThat(v).isBetween(-1f, 1f);
      sum += v;
      sq += v * v;
    }
    double mean = sum / a.pixels().length, std = Math.sqrt(sq / a.pixels().length - mean * mean);
    assertThat(std).as("real picture content, not a constant").isGreaterThan(0.1);
    // Crop c of file f is image c * files + f: the three training files interleave.
    int per = 3 * 64 * 64;
    float[] first = java.util.Arrays.copyOfRange(a.pixels(), 0, per);
    float[] fourth = java.util.Arrays.copyOfRange(a.pixels(), 3 * per, 4 * per);
    List<PhotoCrops.PhotoFile> files =
        PhotoCrops.files(dirs).stream().filter(f -> !f.heldOut()).toList();
    Dataset onlyFirstFile = PhotoCrops.crops(files.subList(0, 1), 2, 64, 512, 7, null);
    assertThat(java.util.Arrays.copyOfRange(onlyFirstFile.pixels(), 0, per)).isEqualTo(first);
    assertThat(java.util.Arrays.copyOfRange(onlyFirstFile.pixels(), per, 2 * per))
        .isEqualTo(fourth);
  }

  @Test
  void heldOutCropsComeOnlyFromHeldOutPictures() throws Exception {
    List<PhotoCrops.PhotoFile> files = PhotoCrops.files(dirs);
    Set<String> held =
        files.stream()
            .filter(PhotoCrops.PhotoFile::heldOut)
            .map(f -> tmp.resolve("mate").relativize(f.path()).toString())
            .collect(Collectors.toSet());
    Set<String> train =
        files.stream()
            .filter(f -> !f.heldOut())
            .map(f -> tmp.resolve("mate").relativize(f.path()).toString())
            .collect(Collectors.toSet());
    assertThat(held).containsExactlyInAnyOrderElementsOf(PhotoTestData.HELD_OUT);
    assertThat(train).containsExactlyInAnyOrderElementsOf(PhotoTestData.TRAIN);
    // The held-out set equals crops of the held-out files alone, and shares no crop with the
    // training set.
    Dataset h = PhotoCrops.load(dirs, true, 6, 64, 512, 7, null);
    Dataset hAlone =
        PhotoCrops.crops(
            files.stream().filter(PhotoCrops.PhotoFile::heldOut).toList(), 6, 64, 512, 7, null);
    assertThat(h.pixels()).isEqualTo(hAlone.pixels());
    Dataset t = PhotoCrops.load(dirs, false, 6, 64, 512, 7, null);
    int per = 3 * 64 * 64;
    for (int i = 0; i < 6; i++) {
      for (int j = 0; j < 6; j++) {
        assertThat(
                java.util.Arrays.equals(
                    h.pixels(), i * per, (i + 1) * per, t.pixels(), j * per, (j + 1) * per))
            .isFalse();
      }
    }
  }

  @Test
  void transparentWallpapersAreCompositedOverGrey() throws Exception {
    int[] px = {0x00ffffff, 0xffffffff, 0x80000000, 0x80ff0000, 0xff123456};
    io.softstream.model.image.ImageTranslator.overGrey(px);
    assertThat(px).containsExactly(0xff808080, 0xffffffff, 0xff404040, 0xffc04040, 0xff123456);
    // Silk.png is flat white with its pattern in alpha: composited, its crops are not flat.
    Path silk = tmp.resolve("mate/abstract/Silk.png");
    PhotoCrops.PhotoFile f =
        PhotoCrops.files(dirs).stream()
            .filter(p -> p.path().equals(silk))
            .findFirst()
            .orElseThrow();
    Dataset d = PhotoCrops.crops(List.of(f), 4, 64, 512, 3, null);
    int per = 3 * 64 * 64;
    for (int i = 0; i < 4; i++) {
      float mn = 1, mx = -1;
      for (int k = i * per; k < (i + 1) * per; k++) {
        mn = Math.min(mn, d.pixels()[k]);
        mx = Math.max(mx, d.pixels()[k]);
      }
      assertThat(mx - mn).as("crop " + i + " of Silk.png").isGreaterThan(0.05f);
    }
  }

  @Test
  void splitRuleIsCrc32OfThePictureKeyOnTheRealFolders() throws Exception {
    List<PhotoCrops.PhotoFile> files = PhotoCrops.files(PhotoCrops.DEFAULT_DIRS);
    assertThat(files).hasSizeGreaterThan(40);
    for (PhotoCrops.PhotoFile f : files) {
      CRC32 crc = new CRC32();
      crc.update(f.key().getBytes(StandardCharsets.UTF_8));
      assertThat(f.heldOut()).as(f.key()).isEqualTo(crc.getValue() % 5 == 0);
    }
    Set<String> heldKeys =
        files.stream()
            .filter(PhotoCrops.PhotoFile::heldOut)
            .map(PhotoCrops.PhotoFile::key)
            .collect(Collectors.toSet());
    Set<String> trainKeys =
        files.stream()
            .filter(f -> !f.heldOut())
            .map(PhotoCrops.PhotoFile::key)
            .collect(Collectors.toSet());
    assertThat(heldKeys).isNotEmpty().doesNotContainAnyElementsOf(trainKeys);
    assertThat(trainKeys).hasSizeGreaterThan(heldKeys.size());
    // Variants of one picture share a key, so they are on the same side of the split.
    assertThat(PhotoCrops.key("mate/abstract/Elephants_5640x3172.jpg"))
        .isEqualTo("mate/abstract/Elephants");
    assertThat(PhotoCrops.key("gnome/adwaita-d.webp")).isEqualTo("gnome/adwaita");
    assertThat(PhotoCrops.key("mate/desktop/MATE-Stripes-Light.png"))
        .isEqualTo("mate/desktop/MATE-Stripes");
    assertThat(PhotoCrops.heldOut("mate/nature/YellowFlower")).isTrue();
    assertThat(PhotoCrops.heldOut("mate/nature/Aqua")).isFalse();
  }

  /** The same 40 training crops every call (seed 7), to compare augmentations against. */
  private Dataset fortyCrops() throws Exception {
    return PhotoCrops.load(dirs, false, 40, 64, 512, 7, null);
  }

  @Test
  void smoothFieldsCoverTheMediumDetailBuckets() throws Exception {
    Dataset plain = fortyCrops();
    Dataset none = fortyCrops();
    PhotoCrops.augment(none, true, 0.25f, 0f, 0f, 7);
    // Fields only, on many crops: their std (grey levels, per channel) spreads over the buckets.
    Dataset fields = new Dataset(new float[400 * 3 * 64 * 64], null, 3, 64);
    PhotoCrops.augment(fields, false, 1f, 1f, 0f, 9);
    int plane = 64 * 64, mid = 0, low = 0, high = 0;
    for (int i = 0; i < 400; i++) {
      double std = detail(fields.pixels(), i);
      if (std >= 12.75 && std < 25.5) {
        mid++;
      } else if (std < 12.75) {
        low++;
      } else {
        high++;
      }
    }
    System.out.printf(
        "smooth fields by std: <12.75 %d, 12.75-25.5 %d, >=25.5 %d%n", low, mid, high);
    assertThat(mid).isGreaterThan(80);
    assertThat(low).isGreaterThan(80);
    // Neighbouring pixels differ little: smooth shading, not texture.
    float[] p = fields.pixels();
    double step = 0;
    for (int row = 0; row < 400 * 3 * 64; row++) {
      for (int x = 1; x < 64; x++) {
        step += Math.abs(p[row * 64 + x] - p[row * 64 + x - 1]) * 127.5;
      }
    }
    step /= 400 * 3 * 64 * 63;
    System.out.printf("smooth fields: mean step between neighbours %.2f grey levels%n", step);
    assertThat(step).isLessThan(2);
    assertThat(plain.pixels()).isNotEqualTo(none.pixels());
  }

  /**
   * A share of 0 draws nothing more, so a run from before that share existed sees the same crops.
   * The hashes are those of the code before the smooth fields (c4be817^) and before the edges
   * (c4be817) on the same input: a fixed pattern, so no picture package version enters.
   */
  @Test
  void sharesOfZeroReproduceTheCropsOfTheCodeBeforeThem() {
    Dataset beforeFields = patterned();
    PhotoCrops.augment(beforeFields, true, 0.5f, 0f, 0f, 11);
    assertThat(Arrays.hashCode(beforeFields.pixels())).isEqualTo(1752094323);
    Dataset beforeEdges = patterned();
    PhotoCrops.augment(beforeEdges, true, 0.5f, 0.5f, 0f, 11);
    assertThat(Arrays.hashCode(beforeEdges.pixels())).isEqualTo(623784390);
  }

  /** 60 crops of 3x16x16, pixel i = sin(0.37 i). */
  private static Dataset patterned() {
    float[] p = new float[60 * 3 * 16 * 16];
    for (int i = 0; i < p.length; i++) {
      p[i] = (float) Math.sin(i * 0.37);
    }
    return new Dataset(p, null, 3, 16);
  }

  @Test
  void edgeFieldsJoinTwoSmoothFieldsAlongOneSharpBorder() throws Exception {
    int n = 200, plane = 64 * 64;
    Dataset smooth = new Dataset(new float[n * 3 * plane], null, 3, 64);
    PhotoCrops.augment(smooth, false, 1f, 1f, 0f, 9);
    Dataset edged = new Dataset(new float[n * 3 * plane], null, 3, 64);
    PhotoCrops.augment(edged, false, 1f, 1f, 1f, 9);
    // A crop's largest step between horizontal or vertical neighbours (grey levels, any channel).
    int sharp = 0, smoothSharp = 0, mid = 0;
    for (int i = 0; i < n; i++) {
      double std = detail(edged.pixels(), i);
      if (std >= 12.75 && std < 25.5) {
        mid++;
      }
      if (largestStep(edged.pixels(), i) > 20) {
        sharp++;
      }
      if (largestStep(smooth.pixels(), i) > 20) {
        smoothSharp++;
      }
    }
    System.out.printf(
        "crops with a step over 20 grey levels: edged %d, smooth %d of %d; edged in std"
            + " 12.75-25.5: %d%n",
        sharp, smoothSharp, n, mid);
    assertThat(mid).isGreaterThan(n / 4);
    assertThat(sharp).isGreaterThan(n / 2);
    assertThat(smoothSharp).isLessThan(n / 20);
  }

  /** A 64x64 RGB crop's std in grey levels, as Evaluation buckets crops (per-channel means). */
  private static double detail(float[] p, int crop) {
    int plane = 64 * 64;
    double var = 0;
    for (int c = 0; c < 3; c++) {
      double sum = 0, sq = 0;
      for (int j = 0; j < plane; j++) {
        double v = p[(crop * 3 + c) * plane + j] * 127.5;
        sum += v;
        sq += v * v;
      }
      var += sq / plane - (sum / plane) * (sum / plane);
    }
    return Math.sqrt(Math.max(0, var / 3));
  }

  private static double largestStep(float[] p, int crop) {
    double max = 0;
    for (int c = 0; c < 3; c++) {
      int base = (crop * 3 + c) * 64 * 64;
      for (int y = 1; y < 64; y++) {
        for (int x = 1; x < 64; x++) {
          int i = base + y * 64 + x;
          max = Math.max(max, Math.abs(p[i] - p[i - 1]) * 127.5);
          max = Math.max(max, Math.abs(p[i] - p[i - 64]) * 127.5);
        }
      }
    }
    return max;
  }

  @Test
  void augmentationPermutesOrInvertsColoursAndAddsFlatOrSmoothCrops() throws Exception {
    Dataset plain = fortyCrops();
    Dataset aug = fortyCrops();
    PhotoCrops.augment(aug, true, 0.25f, 0f, 0f, 7);
    Dataset again = fortyCrops();
    PhotoCrops.augment(again, true, 0.25f, 0f, 0f, 7);
    assertThat(aug.pixels()).as("deterministic by seed").isEqualTo(again.pixels());
    int plane = 64 * 64, per = 3 * plane, same = 0, recoloured = 0, synthetic = 0, atEdge = 0;
    for (int i = 0; i < 40; i++) {
      float[] p = java.util.Arrays.copyOfRange(plain.pixels(), i * per, (i + 1) * per);
      float[] a = java.util.Arrays.copyOfRange(aug.pixels(), i * per, (i + 1) * per);
      if (java.util.Arrays.equals(p, a)) {
        same++;
        continue;
      }
      // A recoloured crop holds the same planes, reordered and maybe negated.
      boolean isRecolour = true;
      for (int c = 0; c < 3 && isRecolour; c++) {
        float[] ac = java.util.Arrays.copyOfRange(a, c * plane, (c + 1) * plane);
        boolean found = false;
        for (int k = 0; k < 3 && !found; k++) {
          float[] pk = java.util.Arrays.copyOfRange(p, k * plane, (k + 1) * plane);
          float[] neg = new float[plane];
          for (int j = 0; j < plane; j++) {
            neg[j] = -pk[j];
          }
          found = java.util.Arrays.equals(ac, pk) || java.util.Arrays.equals(ac, neg);
        }
        isRecolour = found;
      }
      if (isRecolour) {
        recoloured++;
      } else {
        synthetic++;
        for (int c = 0; c < 3; c++) {
          float centre = a[c * plane + 32 * 64 + 32];
          atEdge += Math.abs(centre) == 1f ? 1 : 0;
        }
        // Flat or a gentle ramp: neighbours differ by at most 0.5 / 64 per pixel and channel.
        for (int c = 0; c < 3; c++) {
          for (int j = 1; j < 64; j++) {
            assertThat(Math.abs(a[c * plane + j] - a[c * plane + j - 1])).isLessThan(0.01f);
          }
        }
      }
      for (float v : a) {
        assertThat(v).isBetween(-1f, 1f);
      }
    }
    assertThat(same + recoloured + synthetic).isEqualTo(40);
    assertThat(same).isBetween(8, 30);
    assertThat(recoloured).isBetween(5, 30);
    assertThat(synthetic).isBetween(3, 20);
    assertThat(atEdge)
        .as("channels of synthetic crops at the gamut's edge (0 or 255), of " + 3 * synthetic)
        .isBetween(1, 3 * synthetic - 1);
  }

  @Test
  void aHeldOutSourceGivesCropsOfEveryPicture() throws Exception {
    Dataset all = TrainerRun.heldOutSource(dirs, 30, 64, 512, null);
    List<PhotoCrops.PhotoFile> files = PhotoCrops.files(dirs);
    assertThat(all.count()).isEqualTo(30);
    assertThat(files.stream().map(PhotoCrops.PhotoFile::heldOut).distinct().count())
        .as("training and held-out pictures alike")
        .isEqualTo(2);
    assertThat(all.pixels())
        .isEqualTo(
            PhotoCrops.crops(files, 30, 64, 512, TrainerRun.HELDOUT_PHOTO_SEED, null).pixels());
    assertThat(TrainerRun.heldOutSource(List.of(), 30, 64, 512, null)).isNull();
  }

  @Test
  void areaAverageIsAnExactBoxFilter() {
    // 128x128 one-pixel checkerboard of black and white: every 2x2 box averages to mid grey (0.0).
    int w = 130;
    int[] argb = new int[w * w];
    for (int y = 0; y < w; y++) {
      for (int x = 0; x < w; x++) {
        argb[y * w + x] = (x + y) % 2 == 0 ? 0xff000000 : 0xffffffff;
      }
    }
    float[] out = new float[3 * 64 * 64];
    PhotoCrops.translator(64)
        .cropInto(
            new io.softstream.model.image.ImageTranslator.Picture(argb, w, w), 1, 1, 128, out, 0);
    for (float v : out) {
      assertThat(v).isCloseTo(0f, within(1e-6f));
    }
    // A fractional window (96 px -> 64: 1.5 px per output) of a horizontal ramp 0,2,4,...: output o
    // averages source [1.5 o, 1.5 o + 1.5), each source pixel x covering [x, x + 1) and weighted by
    // overlap.
    int[] ramp = new int[96 * 96];
    for (int y = 0; y < 96; y++) {
      for (int x = 0; x < 96; x++) {
        int g = Math.min(255, 2 * x);
        ramp[y * 96 + x] = 0xff000000 | (g << 16) | (g << 8) | g;
      }
    }
    PhotoCrops.translator(64)
        .cropInto(
            new io.softstream.model.image.ImageTranslator.Picture(ramp, 96, 96), 0, 0, 96, out, 0);
    for (int o = 0; o < 64; o++) {
      double lo = 1.5 * o, hi = lo + 1.5, expected = 0;
      for (int x = 0; x < 96; x++) {
        expected += Math.max(0, Math.min(hi, x + 1) - Math.max(lo, x)) * 2 * x / 1.5;
      }
      assertThat(out[5 * 64 + o])
          .as("x=" + o)
          .isCloseTo((float) (expected / 127.5 - 1), within(1e-5f));
      assertThat(out[2 * 64 * 64 + o]).isCloseTo(out[o], within(1e-6f));
    }
  }

  @Test
  void unreadableAndTooSmallFilesAreSkippedAndSaid(@TempDir Path dir) throws Exception {
    Path pics = dir.resolve("pics");
    Files.createDirectories(pics);
    Files.writeString(pics.resolve("vector.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    ImageIO.write(
        new BufferedImage(10, 10, BufferedImage.TYPE_INT_RGB),
        "png",
        pics.resolve("tiny.png").toFile());
    BufferedImage ok = new BufferedImage(80, 70, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 70; y++) {
      for (int x = 0; x < 80; x++) {
        ok.setRGB(x, y, (x * 3) << 16 | (y * 3) << 8 | 200);
      }
    }
    ImageIO.write(ok, "png", pics.resolve("ok.png").toFile());
    List<PhotoCrops.PhotoFile> all = PhotoCrops.files(List.of(pics.toString()));
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Dataset d =
        PhotoCrops.crops(all, 4, 64, 512, 1, new PrintStream(log, true, StandardCharsets.UTF_8));
    String said = log.toString(StandardCharsets.UTF_8);
    assertThat(said)
        .contains("skipping " + pics.resolve("vector.svg") + " (No image decoder recognises these")
        .contains("skipping " + pics.resolve("tiny.png") + " (10x10 is smaller than 64x64)")
        .contains("4 crops of 64x64 from 1 of 3");
    assertThat(d.count()).isEqualTo(4);
    // Blue is 200 everywhere in ok.png: exactly 200 / 127.5 - 1 after area averaging.
    for (int i = 0; i < 64 * 64; i++) {
      assertThat(d.pixels()[2 * 64 * 64 + i]).isCloseTo(200 / 127.5f - 1, within(1e-5f));
    }
    assertThatThrownBy(() -> PhotoCrops.crops(all.subList(1, 3), 4, 64, 512, 1, null))
        .hasMessageContaining("No readable pictures");
  }
}
