package io.softstream.model.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.data.FashionMnist;
import io.softstream.model.image.ImageRejectedException.ErrorClass;
import io.softstream.model.image.ImageTranslator.Resize;
import io.softstream.schemas.images.ImageLimits;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ImageTranslatorTest {
  static final ImageLimits LIMITS = new ImageLimits(1 << 20, 10_000_000, "this worker");
  final ImageTranslator gray32 = new ImageTranslator(32, 1, Resize.FIT, LIMITS);

  @Test
  void rgbPicturesReadFromTheRasterMatchGetRgb() throws IOException {
    Random rnd = new Random(7);
    BufferedImage bgr = new BufferedImage(37, 23, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < bgr.getHeight(); y++) {
      for (int x = 0; x < bgr.getWidth(); x++) {
        bgr.setRGB(x, y, rnd.nextInt());
      }
    }
    ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
    ImageIO.write(bgr, "jpg", jpeg);
    BufferedImage decoded = ImageIO.read(new java.io.ByteArrayInputStream(jpeg.toByteArray()));
    for (BufferedImage img : new BufferedImage[] {bgr, decoded, bgr.getSubimage(5, 3, 20, 11)}) {
      int[] expected = img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
      Arrays.setAll(expected, i -> expected[i] | 0xff000000);
      assertThat(ImageTranslator.picture(img).rgb()).containsExactly(expected);
    }
  }

  @Test
  void aSmallGrayImageIsCentredOnBlackExactlyAsTrainingPaddedFashionMnist() {
    BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        img.getRaster().setSample(x, y, 0, (x * 9 + y) % 256);
      }
    }
    float[] out = new float[32 * 32];
    gray32.decodeInto(encode(img, "png"), "image/png", out, 0);
    assertThat(out[0]).isEqualTo(-1f); // border
    assertThat(out[31 * 32 + 31]).isEqualTo(-1f);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        assertThat(out[(y + 2) * 32 + x + 2]).isEqualTo(((x * 9 + y) % 256) / 127.5f - 1f);
      }
    }
  }

  @Test
  void realFashionMnistPngsGiveExactlyTheTrainingPixels() throws IOException {
    Assumptions.assumeTrue(
        Files.exists(FashionMnist.DEFAULT_DIR.resolve("t10k-images-idx3-ubyte.gz")));
    FashionMnist.Split split = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, 0);
    float[] training = split.padded(32);
    // The shipped models were trained on exactly these values: v / 127.5f - 1 centred on -1.
    float[] before = new float[training.length];
    java.util.Arrays.fill(before, -1f);
    for (int i = 0; i < split.count(); i++) {
      for (int k = 0; k < 784; k++) {
        before[i * 1024 + (k / 28 + 2) * 32 + k % 28 + 2] =
            (split.pixels()[i * 784 + k] & 0xff) / 127.5f - 1f;
      }
    }
    assertThat(training).isEqualTo(before);
    float[] served = new float[50 * 1024];
    for (int i = 0; i < 50; i++) {
      gray32.decodeInto(encode(split.image(i), "png"), "image/png", served, i * 32 * 32);
    }
    assertThat(served).isEqualTo(Arrays.copyOf(training, served.length));
  }

  @Test
  void everyImageIoFormatDecodesToTheModelShapeInRange() throws Exception {
    ImageTranslator rgb =
        new ImageTranslator(
            16, 3, Resize.CROP, new ImageLimits(1 << 24, 100_000_000, "this worker", false));
    for (String f : new String[] {"png", "jpg", "bmp", "gif", "tif"}) {
      float[] out = new float[3 * 16 * 16];
      Arrays.fill(out, 9f);
      rgb.decodeInto(encode(random(40, 30, 1), f), "image/" + f, out, 0);
      assertThat(min(out)).isGreaterThanOrEqualTo(-1f);
      assertThat(max(out)).isLessThanOrEqualTo(1f);
    }
    // WebP through the TwelveMonkeys ImageIO plugin, on a real wallpaper from gnome-backgrounds.
    Path dir = Path.of("/usr/share/backgrounds/gnome");
    Assumptions.assumeTrue(Files.isDirectory(dir));
    Path webp;
    try (Stream<Path> s = Files.list(dir)) {
      webp = s.filter(p -> p.toString().endsWith(".webp")).sorted().findFirst().orElseThrow();
    }
    float[] out = new float[3 * 16 * 16];
    rgb.decodeInto(Files.readAllBytes(webp), "image/webp", out, 0);
    assertThat(min(out)).isGreaterThanOrEqualTo(-1f);
    assertThat(max(out)).isLessThanOrEqualTo(1f);
    float[] sorted = out.clone();
    Arrays.sort(sorted);
    assertThat(Arrays.stream(box(sorted)).distinct().count()).isGreaterThan(10);
  }

  @Test
  void rejectedImagesAreNamedWithTheReason() {
    float[] out = new float[32 * 32];
    byte[] png = encode(random(20, 20, 2), "png");
    gray32.decodeInto(png, "image/png", out, 0); // the PNG reader is now known and reused
    byte[] magicOnly = Arrays.copyOf(png, 12);
    assertThatThrownBy(() -> gray32.decodeInto(magicOnly, "image/png", out, 0))
        .isInstanceOf(ImageRejectedException.class)
        .extracting("errorClass")
        .isEqualTo(ErrorClass.UndecodableImage);
    assertThatThrownBy(
            () -> gray32.decodeInto(Arrays.copyOf(png, png.length / 2), "image/png", out, 0))
        .isInstanceOf(ImageRejectedException.class)
        .extracting("errorClass")
        .isEqualTo(ErrorClass.UndecodableImage);
    assertThatThrownBy(() -> gray32.decodeInto("hello".getBytes(), "image/png", out, 0))
        .hasMessageContaining("accepted: PNG, JPEG, BMP, GIF, WebP")
        .extracting("errorClass")
        .isEqualTo(ErrorClass.UndecodableImage);
    assertThatThrownBy(() -> gray32.decodeInto(new byte[0], "image/png", out, 0))
        .hasMessage("The image has 0 bytes.")
        .extracting("errorClass")
        .isEqualTo(ErrorClass.EmptyPayload);
    assertThatThrownBy(() -> gray32.decodeInto(new byte[2 << 20], "image/png", out, 0))
        .hasMessage(
            "The image has 2097152 bytes; this worker accepts at most 1048576 (image.max.bytes).")
        .extracting("errorClass")
        .isEqualTo(ErrorClass.OversizedPayload);
    assertThatThrownBy(() -> gray32.decodeInto(zeroSizeBmp(), "image/bmp", out, 0))
        .isInstanceOf(ImageRejectedException.class)
        .extracting("errorClass")
        .isIn(ErrorClass.EmptyImage, ErrorClass.UndecodableImage);
  }

  @Test
  void aDecompressionBombIsRefusedFromItsHeaderBeforeAnyPixelIsDecoded() {
    // The header claims 100000 x 100000 RGB = 30 GB of pixels and the file has none: only a check
    // of
    // the header can refuse it as OversizedImage (decoding would fail as truncated, or run out of
    // memory).
    byte[] bomb = pngHeader(100_000, 100_000);
    assertThatThrownBy(() -> gray32.decodeInto(bomb, "image/png", new float[32 * 32], 0))
        .isInstanceOf(ImageRejectedException.class)
        .hasMessage(
            "The png image is 100000x100000 = 10000000000 pixels; this worker accepts at most 10000000 (image.max.pixels).")
        .extracting("errorClass")
        .isEqualTo(ErrorClass.OversizedImage);
    assertThatThrownBy(() -> gray32.header(bomb, "image/png"))
        .extracting("errorClass")
        .isEqualTo(ErrorClass.OversizedImage);
    // Within the limit, the same header is read without decoding: the missing pixels are never
    // touched.
    ImageTranslator big =
        new ImageTranslator(32, 1, Resize.FIT, ImageLimits.of(1 << 20, 20_000_000_000L));
    assertThat(big.header(bomb, "image/png"))
        .isEqualTo(new ImageTranslator.Header("png", 100_000, 100_000));
  }

  @Test
  void anImageWithinThePixelLimitThatWouldNotFitTheHeapIsRefusedBeforeDecoding() {
    // Found by FuzzIT: a valid 16-bit RGBA PNG of 6000 x 6600 zero pixels (about 300 KB) within the
    // worker's 40-megapixel limit decodes to 316 MB plus 158 MB for the RGB ints, and an encode
    // worker with -Xmx512m died of OutOfMemoryError. The header alone (sized to this JVM's heap)
    // must now be refused: 8 bytes a pixel + 4 for the RGB ints > half the heap.
    long pixels = Runtime.getRuntime().maxMemory() / 20;
    int side = (int) Math.ceil(Math.sqrt(pixels));
    byte[] bomb = pngHeader(side, side);
    bomb[24] = 16; // bit depth
    bomb[25] = 6; // RGBA
    CRC32 crc = new CRC32();
    crc.update(bomb, 12, 17);
    ByteBuffer.wrap(bomb).putInt(29, (int) crc.getValue());
    ImageTranslator roomy =
        new ImageTranslator(32, 3, Resize.FIT, ImageLimits.of(1 << 20, Long.MAX_VALUE));
    assertThat(roomy.header(bomb, "image/png"))
        .isEqualTo(new ImageTranslator.Header("png", side, side));
    assertThatThrownBy(() -> roomy.decodeInto(bomb, "image/png", new float[3 * 32 * 32], 0))
        .isInstanceOf(ImageRejectedException.class)
        .hasMessageContaining("image is " + side + "x" + side + " at 64 bits a pixel")
        .hasMessageContaining("more than half of this process's")
        .extracting("errorClass")
        .isEqualTo(ErrorClass.OversizedImage);
  }

  @Test
  void fitCropAndPadShapes() {
    // 100 x 50, left half red, right half blue.
    BufferedImage wide = new BufferedImage(100, 50, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 50; y++) {
      for (int x = 0; x < 100; x++) {
        wide.setRGB(x, y, x < 50 ? 0xff0000 : 0x0000ff);
      }
    }
    int s = 20, plane = s * s;
    float[] crop = new ImageTranslator(s, 3, Resize.CROP, LIMITS).normalise(wide);
    float[] fit = new ImageTranslator(s, 3, Resize.FIT, LIMITS).normalise(wide);
    assertThat(fit).as("FIT of a larger image is the centre crop").isEqualTo(crop);
    // Centre crop = columns 25..74: red on the left half, blue on the right; no black.
    assertThat(crop[5 * s + 2]).isEqualTo(1f);
    assertThat(crop[2 * plane + 5 * s + 2]).isEqualTo(-1f);
    assertThat(crop[5 * s + 17]).isEqualTo(-1f);
    assertThat(crop[2 * plane + 5 * s + 17]).isEqualTo(1f);
    // PAD: the whole image scaled to 20 x 10, rows 5..14, black above and below.
    float[] pad = new ImageTranslator(s, 3, Resize.PAD, LIMITS).normalise(wide);
    for (int x = 0; x < s; x++) {
      for (int c = 0; c < 3; c++) {
        assertThat(pad[c * plane + 2 * s + x]).isEqualTo(-1f);
        assertThat(pad[c * plane + 17 * s + x]).isEqualTo(-1f);
      }
      assertThat(pad[10 * s + x]).isEqualTo(x < 10 ? 1f : -1f);
      assertThat(pad[2 * plane + 10 * s + x]).isEqualTo(x < 10 ? -1f : 1f);
    }
    // FIT of a smaller image: centred, unscaled, black around.
    BufferedImage small = new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB);
    small.setRGB(0, 0, 0x808080);
    float[] fitSmall = new ImageTranslator(s, 3, Resize.FIT, LIMITS).normalise(small);
    assertThat(fitSmall[8 * s + 7]).isEqualTo(128 / 127.5f - 1f);
    assertThat(fitSmall[8 * s + 6]).isEqualTo(-1f);
    assertThat(fitSmall[9 * s + 8]).isEqualTo(-1f); // black pixel of the image itself
    // Every shape, every channel count: C x size x size values in range.
    for (Resize r : Resize.values()) {
      for (int ch : new int[] {1, 3}) {
        float[] out = new ImageTranslator(s, ch, r, LIMITS).normalise(random(37, 91, 3));
        assertThat(out).hasSize(ch * plane);
        assertThat(min(out)).isGreaterThanOrEqualTo(-1f);
        assertThat(max(out)).isLessThanOrEqualTo(1f);
      }
    }
  }

  @Test
  void areaAveragingIsAnExactBoxFilter() {
    // 128 x 128 one-pixel checkerboard: every 2 x 2 box averages to mid grey.
    BufferedImage check = new BufferedImage(128, 128, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 128; y++) {
      for (int x = 0; x < 128; x++) {
        check.setRGB(x, y, (x + y) % 2 == 0 ? 0 : 0xffffff);
      }
    }
    for (float v : new ImageTranslator(64, 3, Resize.CROP, LIMITS).normalise(check)) {
      assertThat(v).isCloseTo(0f, org.assertj.core.data.Offset.offset(1e-6f));
    }
  }

  @Test
  void modelPixelsRoundTripExactlyThroughAnImage() {
    for (int ch : new int[] {1, 3}) {
      for (Resize r : Resize.values()) {
        ImageTranslator t = new ImageTranslator(16, ch, r, LIMITS);
        BufferedImage img =
            ch == 1 ? new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY) : random(16, 16, 4);
        for (int i = 0; ch == 1 && i < 256; i++) {
          img.getRaster().setSample(i % 16, i / 16, 0, i); // every 8-bit value once
        }
        float[] px = t.normalise(img);
        BufferedImage back = ImageTranslator.toImage(px, 0, ch, 16);
        assertThat(pixels(back)).as(ch + " channels, " + r).isEqualTo(pixels(img));
        assertThat(t.normalise(back)).isEqualTo(px);
        // And through PNG bytes, as the decode worker sends it and the encode worker reads it.
        float[] again = new float[px.length];
        t.decodeInto(encode(back, "png"), "image/png", again, 0);
        assertThat(again).isEqualTo(px);
      }
    }
  }

  @Test
  void greyImagesKeepTheirValuesAndColourBecomesLuma() {
    // A grey PNG into a colour model: r = g = b = v (ImageIO's getRGB would brighten it as linear
    // grey).
    BufferedImage grey = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_GRAY);
    int[] values = {0, 50, 128, 255};
    for (int x = 0; x < 4; x++) {
      grey.getRaster().setSample(x, 0, 0, values[x]);
    }
    ImageTranslator rgb4 = new ImageTranslator(4, 3, Resize.FIT, LIMITS);
    float[] out = new float[3 * 16];
    rgb4.decodeInto(encode(grey, "png"), "image/png", out, 0);
    for (int x = 0; x < 4; x++) {
      for (int c = 0; c < 3; c++) {
        assertThat(out[c * 16 + 4 + x]).isEqualTo(values[x] / 127.5f - 1f);
      }
    }
    // A colour image into a grey model: BT.601 luma.
    BufferedImage colour = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
    colour.setRGB(0, 0, 0xff0000);
    colour.setRGB(1, 0, 0x00ff00);
    float[] g = new ImageTranslator(2, 1, Resize.FIT, LIMITS).normalise(colour);
    assertThat(g[0]).isEqualTo(0.299f * 255 / 127.5f - 1f);
    assertThat(g[1]).isEqualTo(0.587f * 255 / 127.5f - 1f);
    // Grey + alpha PNG (as MATE's Stripes.png): grey values kept, transparency over mid grey.
    java.awt.image.ComponentColorModel cm =
        new java.awt.image.ComponentColorModel(
            java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY),
            true,
            false,
            java.awt.Transparency.TRANSLUCENT,
            java.awt.image.DataBuffer.TYPE_BYTE);
    BufferedImage ga = new BufferedImage(cm, cm.createCompatibleWritableRaster(3, 1), false, null);
    ga.getRaster().setPixel(0, 0, new int[] {255, 0});
    ga.getRaster().setPixel(1, 0, new int[] {0, 128});
    ga.getRaster().setPixel(2, 0, new int[] {50, 255});
    float[] a = new float[3 * 9];
    new ImageTranslator(3, 3, Resize.FIT, LIMITS).decodeInto(encode(ga, "png"), "image/png", a, 0);
    assertThat(a[3]).isEqualTo(128 / 127.5f - 1f);
    assertThat(a[4]).isEqualTo(64 / 127.5f - 1f);
    assertThat(a[5]).isEqualTo(50 / 127.5f - 1f);
  }

  @Test
  void transparencyIsCompositedOverMidGrey() {
    int[] px = {0x00ffffff, 0xffffffff, 0x80000000, 0x80ff0000, 0xff123456};
    ImageTranslator.overGrey(px);
    assertThat(px).containsExactly(0xff808080, 0xffffffff, 0xff404040, 0xffc04040, 0xff123456);
  }

  static int[] pixels(BufferedImage img) {
    return img.getRaster().getPixels(0, 0, img.getWidth(), img.getHeight(), (int[]) null);
  }

  static BufferedImage random(int w, int h, long seed) {
    Random r = new Random(seed);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, r.nextInt(0x1000000));
      }
    }
    return img;
  }

  static byte[] encode(BufferedImage img, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(img, format, out)) {
        throw new IllegalArgumentException("no writer for " + format);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A valid PNG signature and IHDR that claim {@code w x h} RGB pixels, then nothing. */
  static byte[] pngHeader(int w, int h) {
    ByteBuffer ihdr =
        ByteBuffer.allocate(17)
            .put("IHDR".getBytes())
            .putInt(w)
            .putInt(h)
            .put((byte) 8)
            .put((byte) 2)
            .put((byte) 0)
            .put((byte) 0)
            .put((byte) 0);
    CRC32 crc = new CRC32();
    crc.update(ihdr.array());
    return ByteBuffer.allocate(8 + 4 + 17 + 4)
        .put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
        .putInt(13)
        .put(ihdr.array())
        .putInt((int) crc.getValue())
        .array();
  }

  static byte[] zeroSizeBmp() {
    return ByteBuffer.allocate(54)
        .order(ByteOrder.LITTLE_ENDIAN)
        .put((byte) 'B')
        .put((byte) 'M')
        .putInt(54)
        .putInt(0)
        .putInt(54)
        .putInt(40)
        .putInt(0)
        .putInt(0)
        .putShort((short) 1)
        .putShort((short) 24)
        .putInt(0)
        .putInt(0)
        .putInt(2835)
        .putInt(2835)
        .putInt(0)
        .putInt(0)
        .array();
  }

  private static float min(float[] a) {
    float m = Float.POSITIVE_INFINITY;
    for (float v : a) {
      m = Math.min(m, v);
    }
    return m;
  }

  private static float max(float[] a) {
    float m = Float.NEGATIVE_INFINITY;
    for (float v : a) {
      m = Math.max(m, v);
    }
    return m;
  }

  private static Float[] box(float[] a) {
    Float[] b = new Float[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = a[i];
    }
    return b;
  }
}
