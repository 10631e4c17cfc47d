package io.softstream.model.image;

import io.softstream.model.image.ImageRejectedException.ErrorClass;
import io.softstream.schemas.images.ImageHeader;
import io.softstream.schemas.images.ImageLimits;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.stream.ImageInputStream;

/**
 * Encoded image bytes to a model's input and model output back to images; the one place where this
 * happens, for training, evaluation and serving alike.
 *
 * <ol>
 *   <li><b>Guards</b> before any pixel is decoded ({@link ImageLimits#check}, the ingest gate's
 *       check and reasons): at most {@link ImageLimits#maxBytes()} bytes and {@link
 *       ImageLimits#maxPixels()} pixels as the header declares them (no decompression bombs), and a
 *       format ImageHeader recognises.
 *   <li><b>Decoding</b> with ImageIO: PNG, JPEG, BMP, GIF, and WebP through the TwelveMonkeys
 *       plugin.
 *   <li><b>Colour</b> ({@link #picture}): every image becomes opaque 8-bit RGB. Grey images keep
 *       their values (grey v is r = g = b = v; ImageIO's own conversion would treat them as linear
 *       light); pixels with alpha are composited over mid grey (128), because several wallpapers
 *       keep their whole pattern in the alpha channel. A 1-channel model takes ITU-R BT.601 luma.
 *   <li><b>Resize</b> ({@link Resize}) to the model's square {@code size}, by one method: area
 *       averaging (an exact fractional box filter). An image that is not resampled keeps its exact
 *       values.
 *   <li><b>Normalisation</b>: 8-bit v becomes {@code v / 127.5 - 1}, planar {@code [C, H, W]}.
 * </ol>
 *
 * <p>{@link #toImage} is the way back: values in [-1, 1] rounded to 8 bits; {@code
 * toImage(normalise(img))} gives back an 8-bit image of the model's size exactly.
 */
public final class ImageTranslator {
  /** How an image of another shape becomes the model's square input. */
  public enum Resize {
    /**
     * An image that fits is centred on black without scaling (how Fashion-MNIST's 28x28 images were
     * padded to 32x32 in training); a larger one is centre-cropped to a square and scaled.
     */
    FIT,
    /** Always centre-crop to a square and scale. */
    CROP,
    /** Scale the whole image into the square, centred on black. */
    PAD;

    public static Resize parse(String s) {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    }
  }

  /** Opaque 8-bit RGB pixels ({@code 0xffRRGGBB}, row-major) after the colour policy. */
  public record Picture(int[] rgb, int width, int height) {}

  /** What an image header declares, read without decoding pixels. */
  public record Header(String format, int width, int height) {}

  /**
   * Generous limits for reading local picture files (the largest shipped wallpaper has 17.9 M
   * pixels).
   */
  public static final ImageLimits FILE_LIMITS = ImageLimits.of(256 * 1024 * 1024, 200_000_000L);

  private final int size;
  private final int channels;
  private final Resize resize;
  private final ImageLimits limits;

  public ImageTranslator(int size, int channels, Resize resize, ImageLimits limits) {
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
    }
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + size);
    }
    this.size = size;
    this.channels = channels;
    this.resize = resize;
    this.limits = limits;
  }

  public int size() {
    return size;
  }

  public int channels() {
    return channels;
  }

  public int floatsPerImage() {
    return channels * size * size;
  }

  /**
   * Decodes {@code bytes} into {@code out[offset .. offset + C*H*W)}: {@link #decode}, then {@link
   * #fitInto}.
   *
   * @throws ImageRejectedException see {@link #decode}
   */
  public void decodeInto(byte[] bytes, String contentType, float[] out, int offset) {
    fitInto(decode(bytes, contentType), out, offset);
  }

  /** An already decoded image as model input ({@link #picture}, then {@link #fitInto}). */
  public float[] normalise(BufferedImage img) {
    float[] out = new float[floatsPerImage()];
    fitInto(picture(img), out, 0);
    return out;
  }

  /**
   * The header of {@code bytes}, after the byte-size guard and with the pixel-count guard; no pixel
   * is decoded.
   *
   * @throws ImageRejectedException EmptyPayload, OversizedPayload, UndecodableImage, EmptyImage,
   *     OversizedImage
   */
  public Header header(byte[] bytes, String contentType) {
    return read(bytes, contentType, false).header;
  }

  /**
   * Guards, decoding and the colour policy.
   *
   * @throws ImageRejectedException EmptyPayload, OversizedPayload, UndecodableImage, EmptyImage,
   *     OversizedImage — each with a reason that says what was wrong and what is accepted
   */
  public Picture decode(byte[] bytes, String contentType) {
    return picture(read(bytes, contentType, true).image);
  }

  private record Read(Header header, BufferedImage image) {}

  private Read read(byte[] bytes, String contentType, boolean pixels) {
    ImageHeader sniffed;
    try {
      sniffed = limits.check(bytes, contentType);
    } catch (ImageLimits.RejectedImage e) {
      throw new ImageRejectedException(ErrorClass.valueOf(e.errorClass()), e.getMessage());
    }
    Header header = new Header(sniffed.format(), sniffed.width(), sniffed.height());
    if (!pixels) {
      return new Read(header, null);
    }
    // Straight over the array: ImageIO's default for a plain InputStream may cache through a
    // temporary file per image, and its memory cache copies the bytes.
    try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
      ImageReader reader = readerFor(bytes, in);
      if (reader == null) {
        throw new IOException("no " + sniffed.format() + " decoder");
      }
      try {
        reader.setInput(in, true, true);
        // The guard checked the sniffed size: a decoder that reads a larger one is refused.
        if ((long) reader.getWidth(0) * reader.getHeight(0)
            > (long) sniffed.width() * sniffed.height()) {
          throw new IOException(
              "the decoder reads "
                  + reader.getWidth(0)
                  + "x"
                  + reader.getHeight(0)
                  + " where the header declares "
                  + sniffed.width()
                  + "x"
                  + sniffed.height());
        }
        long need = refuseIfBeyondHeap(reader, reader.getWidth(0), reader.getHeight(0));
        BufferedImage img;
        if (need > Runtime.getRuntime().maxMemory() / 8) {
          // Images may decode on several threads (the encode worker's decode.threads): large ones
          // take turns, so that two of them never claim up to half the heap each at once.
          synchronized (LARGE_DECODES) {
            img = reader.read(0);
          }
        } else {
          img = reader.read(0);
        }
        if (img == null) {
          throw new IOException("the " + sniffed.format() + " decoder returned no image");
        }
        return new Read(header, img);
      } finally {
        reader.dispose();
      }
    } catch (ImageRejectedException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      ImageLimits.RejectedImage r = ImageLimits.corrupt(bytes.length, contentType, e.getMessage());
      throw new ImageRejectedException(ErrorClass.UndecodableImage, r.getMessage(), e);
    }
  }

  /**
   * Within the pixel limit an image can still need more memory than this JVM has: a 40-megapixel
   * 16-bit RGBA PNG of a few hundred KB decodes to 320 MB, plus 4 bytes a pixel for {@link
   * #picture}. Such an image is refused (OversizedImage) when that exceeds half the maximum heap,
   * instead of an OutOfMemoryError that would kill the worker and, on restart, again.
   */
  private static long refuseIfBeyondHeap(ImageReader reader, int w, int h) throws IOException {
    Iterator<javax.imageio.ImageTypeSpecifier> types = reader.getImageTypes(0);
    int bits = 32;
    if (types != null && types.hasNext()) {
      java.awt.image.SampleModel sm = types.next().getSampleModel(1, 1);
      bits = 0;
      for (int b : sm.getSampleSize()) {
        bits += b;
      }
    }
    // Decoded raster + the RGB ints of #picture + 8 bytes a pixel for the decoder's and the
    // scaler's
    // working buffers (a 4096x4096 WebP ran a 448 MB heap out of memory at 8 bytes a pixel).
    long need = (long) w * h * ((bits + 7) / 8 + 4 + 8);
    long budget = Runtime.getRuntime().maxMemory() / 2;
    if (need > budget) {
      throw new ImageRejectedException(
          ErrorClass.OversizedImage,
          "The "
              + reader.getFormatName()
              + " image is "
              + w
              + "x"
              + h
              + " at "
              + bits
              + " bits a pixel: decoding needs "
              + need / (1024 * 1024)
              + " MB, more than half of this process's "
              + Runtime.getRuntime().maxMemory() / (1024 * 1024)
              + " MB heap (give it more with -Xmx, or lower the pixel limit).");
    }
    return need;
  }

  private static final Object LARGE_DECODES = new Object();

  /** {@code v / 127.5f - 1} for every 8-bit v: the exact copy's values, looked up. */
  private static final float[] UNIT = new float[256];

  static {
    for (int v = 0; v < 256; v++) {
      UNIT[v] = v / 127.5f - 1f;
    }
  }

  // The reader ImageIO chose for the first PNG and the first JPEG, reused for the next ones: asking
  // every installed plugin whether it can decode each small image costs more than decoding it.
  private static volatile ImageReaderSpi pngReader;
  private static volatile ImageReaderSpi jpegReader;

  /** A reader for {@code bytes} as ImageIO would choose it, or null if none recognises them. */
  private static ImageReader readerFor(byte[] bytes, ImageInputStream in) throws IOException {
    boolean png =
        bytes.length > 8 && (bytes[0] & 0xff) == 0x89 && bytes[1] == 'P' && bytes[2] == 'N';
    boolean jpeg = bytes.length > 3 && (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8;
    ImageReaderSpi known = png ? pngReader : jpeg ? jpegReader : null;
    if (known != null) {
      return known.createReaderInstance();
    }
    Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
    if (!readers.hasNext()) {
      return null;
    }
    ImageReader r = readers.next();
    if (png) {
      pngReader = r.getOriginatingProvider();
    } else if (jpeg) {
      jpegReader = r.getOriginatingProvider();
    }
    return r;
  }

  /** The colour policy (see the class comment): any decoded image as opaque 8-bit RGB. */
  public static Picture picture(BufferedImage img) {
    int w = img.getWidth(), h = img.getHeight();
    ColorModel cm = img.getColorModel();
    int[] rgb;
    if (cm instanceof ComponentColorModel && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
      // Grey values as they are: getRGB would convert them from linear grey to sRGB and brighten
      // them.
      Raster r = img.getRaster();
      double vScale = 255.0 / ((1 << cm.getComponentSize(0)) - 1);
      double aScale = cm.hasAlpha() ? 255.0 / ((1 << cm.getComponentSize(1)) - 1) : 0;
      int[] v = r.getSamples(0, 0, w, h, 0, new int[w * h]);
      int[] a = cm.hasAlpha() ? r.getSamples(0, 0, w, h, 1, new int[w * h]) : null;
      rgb = new int[w * h];
      for (int i = 0; i < rgb.length; i++) {
        int g = (int) Math.round(v[i] * vScale);
        int al = a == null ? 255 : (int) Math.round(a[i] * aScale);
        rgb[i] = al << 24 | g << 16 | g << 8 | g;
      }
    } else if (cm instanceof ComponentColorModel
        && cm.getColorSpace().isCS_sRGB()
        && !cm.hasAlpha()
        && cm.getNumComponents() == 3
        && cm.getComponentSize(0) == 8
        && cm.getComponentSize(1) == 8
        && cm.getComponentSize(2) == 8) {
      // 8-bit sRGB as JPEGs decode: the raster's samples, the same values getRGB gives pixel by
      // pixel through the colour model at several times the cost; straight from its byte array
      // when it has one (Raster.getPixels goes through the sample model sample by sample).
      rgb = interleavedBytes(img.getRaster(), w, h);
      if (rgb == null) {
        int[] v = img.getRaster().getPixels(0, 0, w, h, new int[w * h * 3]);
        rgb = new int[w * h];
        for (int i = 0, j = 0; i < rgb.length; i++, j += 3) {
          rgb[i] = v[j] << 16 | v[j + 1] << 8 | v[j + 2];
        }
      }
    } else {
      rgb = img.getRGB(0, 0, w, h, null, 0, w);
    }
    if (cm.hasAlpha()) {
      overGrey(rgb);
    } else {
      for (int i = 0; i < rgb.length; i++) {
        rgb[i] |= 0xff000000;
      }
    }
    return new Picture(rgb, w, h);
  }

  /**
   * The pixels of a 3-byte interleaved raster (what the JPEG decoder gives) packed as RGB ints,
   * read from its byte array; null for any other layout.
   */
  private static int[] interleavedBytes(Raster r, int w, int h) {
    if (!(r.getDataBuffer() instanceof DataBufferByte db)
        || db.getNumBanks() != 1
        || !(r.getSampleModel() instanceof PixelInterleavedSampleModel sm)
        || sm.getPixelStride() != 3
        || sm.getNumBands() != 3) {
      return null;
    }
    byte[] d = db.getData();
    int[] band = sm.getBandOffsets();
    int br = band[0], bg = band[1], bb = band[2];
    int stride = sm.getScanlineStride();
    // A sub-image's raster starts inside its parent's data.
    int base =
        db.getOffset() - r.getSampleModelTranslateY() * stride - r.getSampleModelTranslateX() * 3;
    int[] rgb = new int[w * h];
    for (int y = 0, i = 0; y < h; y++) {
      for (int x = 0, j = base + y * stride; x < w; x++, i++, j += 3) {
        rgb[i] = (d[j + br] & 0xff) << 16 | (d[j + bg] & 0xff) << 8 | (d[j + bb] & 0xff);
      }
    }
    return rgb;
  }

  /**
   * Composites non-premultiplied ARGB pixels over mid grey (128) in place. Several MATE wallpapers
   * (Silk, Spring, Waves, MATE-Stripes-*) are one flat colour whose pattern is all in the alpha
   * channel, meant to be drawn over the desktop colour; over black or white their pattern would be
   * lost.
   */
  public static void overGrey(int[] argb) {
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i], a = p >>> 24;
      if (a == 255) {
        continue;
      }
      int r = ((p >> 16) & 0xff) * a + 128 * (255 - a);
      int g = ((p >> 8) & 0xff) * a + 128 * (255 - a);
      int b = (p & 0xff) * a + 128 * (255 - a);
      argb[i] = 0xff000000 | ((r + 127) / 255) << 16 | ((g + 127) / 255) << 8 | (b + 127) / 255;
    }
  }

  /** The resize policy ({@link Resize}): {@code p} as model input at {@code out[off..]}. */
  public void fitInto(Picture p, float[] out, int off) {
    int w = p.width(), h = p.height();
    if (resize == Resize.FIT && w <= size && h <= size) {
      java.util.Arrays.fill(out, off, off + floatsPerImage(), -1f); // black
      resample(p, 0, 0, w, h, w, h, (size - w) / 2, (size - h) / 2, out, off);
    } else if (resize == Resize.PAD) {
      int side = Math.max(w, h);
      int dw = Math.max(1, Math.round((float) w * size / side));
      int dh = Math.max(1, Math.round((float) h * size / side));
      java.util.Arrays.fill(out, off, off + floatsPerImage(), -1f);
      resample(p, 0, 0, w, h, dw, dh, (size - dw) / 2, (size - dh) / 2, out, off);
    } else {
      int side = Math.min(w, h);
      cropInto(p, (w - side) / 2, (h - side) / 2, side, out, off);
    }
  }

  /**
   * The {@code side x side} window of {@code p} at (x0, y0), area-averaged to the model's size, at
   * {@code out[off..]}.
   */
  public void cropInto(Picture p, int x0, int y0, int side, float[] out, int off) {
    if (x0 < 0 || y0 < 0 || side <= 0 || x0 + side > p.width() || y0 + side > p.height()) {
      throw new IllegalArgumentException(
          "window "
              + side
              + "x"
              + side
              + " at "
              + x0
              + ","
              + y0
              + " is outside the "
              + p.width()
              + "x"
              + p.height()
              + " picture");
    }
    resample(p, x0, y0, side, side, size, size, 0, 0, out, off);
  }

  /**
   * The {@code sw x sh} window at (x0, y0) area-averaged to {@code dw x dh}, written at (ox, oy) of
   * the model's planes. Without scaling the 8-bit values are copied exactly ({@code v / 127.5f -
   * 1}).
   */
  private void resample(
      Picture p,
      int x0,
      int y0,
      int sw,
      int sh,
      int dw,
      int dh,
      int ox,
      int oy,
      float[] out,
      int off) {
    int[] rgb = p.rgb();
    int w = p.width(), plane = size * size;
    if (sw == dw && sh == dh) {
      for (int y = 0; y < dh; y++) {
        int src = (y0 + y) * w + x0;
        int i = off + (oy + y) * size + ox;
        if (channels == 1) {
          for (int x = 0; x < dw; x++, i++) {
            int px = rgb[src + x];
            int r = (px >>> 16) & 0xff, g = (px >>> 8) & 0xff, b = px & 0xff;
            float lum = r == g && g == b ? r : 0.299f * r + 0.587f * g + 0.114f * b;
            out[i] = lum / 127.5f - 1f;
          }
        } else {
          for (int x = 0; x < dw; x++, i++) {
            int px = rgb[src + x];
            out[i] = UNIT[(px >>> 16) & 0xff];
            out[i + plane] = UNIT[(px >>> 8) & 0xff];
            out[i + 2 * plane] = UNIT[px & 0xff];
          }
        }
      }
      return;
    }
    Axis ax = new Axis(sw, dw), ay = new Axis(sh, dh);
    // Horizontal pass: rows of the window -> [sh][dw][3].
    double[] tmp = new double[sh * dw * 3];
    for (int y = 0; y < sh; y++) {
      int row = (y0 + y) * w + x0;
      for (int o = 0; o < dw; o++) {
        double rs = 0, gs = 0, bs = 0;
        for (int x = ax.lo[o]; x <= ax.hi[o]; x++) {
          double k = x == ax.lo[o] ? ax.wLo[o] : x == ax.hi[o] ? ax.wHi[o] : 1;
          int px = rgb[row + x];
          rs += k * ((px >> 16) & 0xff);
          gs += k * ((px >> 8) & 0xff);
          bs += k * (px & 0xff);
        }
        int t = (y * dw + o) * 3;
        tmp[t] = rs;
        tmp[t + 1] = gs;
        tmp[t + 2] = bs;
      }
    }
    double norm = 1.0 / (ax.scale * ay.scale * 127.5);
    for (int o = 0; o < dh; o++) {
      for (int x = 0; x < dw; x++) {
        double rs = 0, gs = 0, bs = 0;
        for (int y = ay.lo[o]; y <= ay.hi[o]; y++) {
          double k = y == ay.lo[o] ? ay.wLo[o] : y == ay.hi[o] ? ay.wHi[o] : 1;
          int t = (y * dw + x) * 3;
          rs += k * tmp[t];
          gs += k * tmp[t + 1];
          bs += k * tmp[t + 2];
        }
        int i = off + (oy + o) * size + ox + x;
        if (channels == 1) {
          double lum = rs == gs && gs == bs ? rs : 0.299 * rs + 0.587 * gs + 0.114 * bs;
          out[i] = clamp((float) (lum * norm - 1));
        } else {
          out[i] = clamp((float) (rs * norm - 1));
          out[i + plane] = clamp((float) (gs * norm - 1));
          out[i + 2 * plane] = clamp((float) (bs * norm - 1));
        }
      }
    }
  }

  /**
   * Per output index along one axis: the covered source range and the weights of its first and last
   * pixel.
   */
  private static final class Axis {
    final double scale;
    final int[] lo, hi;
    final double[] wLo, wHi;

    Axis(int src, int dst) {
      scale = src / (double) dst;
      lo = new int[dst];
      hi = new int[dst];
      wLo = new double[dst];
      wHi = new double[dst];
      for (int o = 0; o < dst; o++) {
        double a = o * scale, b = (o + 1) * scale;
        int ia = (int) Math.floor(a), ib = Math.min(src - 1, (int) Math.ceil(b) - 1);
        lo[o] = ia;
        hi[o] = ib;
        wLo[o] = ia == ib ? b - a : (ia + 1) - a;
        wHi[o] = ia == ib ? 0 : b - ib;
      }
    }
  }

  private static float clamp(float v) {
    return Math.max(-1f, Math.min(1f, v));
  }

  /**
   * Model pixels ({@code [C, H, W]} in [-1, 1]) at {@code offset} to an 8-bit grey or RGB image.
   */
  public static BufferedImage toImage(float[] px, int offset, int channels, int size) {
    BufferedImage img =
        new BufferedImage(
            size, size, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    int plane = size * size;
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int i = y * size + x;
        if (channels == 1) {
          img.getRaster().setSample(x, y, 0, toByte(px[offset + i]));
        } else {
          img.setRGB(
              x,
              y,
              toByte(px[offset + i]) << 16
                  | toByte(px[offset + plane + i]) << 8
                  | toByte(px[offset + 2 * plane + i]));
        }
      }
    }
    return img;
  }

  /** A model value in [-1, 1] as an 8-bit value (clamped, rounded). */
  public static int toByte(float v) {
    return Math.max(0, Math.min(255, Math.round((v + 1f) * 127.5f)));
  }
}
