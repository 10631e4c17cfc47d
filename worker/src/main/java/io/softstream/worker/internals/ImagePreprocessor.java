package io.softstream.worker.internals;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Encoded image bytes to the model's input: decode (PNG, JPEG, BMP, GIF, WebP via ImageIO), check size
 * before decoding pixels (no decompression bombs), convert the colour mode, fit to the model's square
 * resolution, scale to [-1, 1] in {@code [C, H, W]} order.
 *
 * <p>Resize modes: {@code fit} (default) centres an image that already fits on a black canvas without
 * scaling — exactly how Fashion-MNIST's 28×28 images were padded to 32×32 in training — and
 * centre-crops and scales larger ones; {@code crop} always centre-crops to a square and scales;
 * {@code pad} pads to a square with black and scales.
 */
public final class ImagePreprocessor {
  /** How a non-square or differently sized image becomes the model's square input. */
  public enum Resize { FIT, CROP, PAD;

    public static Resize parse(String s) {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    }
  }

  private final int size;
  private final int channels;
  private final Resize resize;
  private final int maxBytes;
  private final long maxPixels;

  public ImagePreprocessor(int size, int channels, Resize resize, int maxBytes, long maxPixels) {
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
    }
    this.size = size;
    this.channels = channels;
    this.resize = resize;
    this.maxBytes = maxBytes;
    this.maxPixels = maxPixels;
  }

  public int floatsPerImage() {
    return channels * size * size;
  }

  /**
   * Decodes {@code bytes} into {@code out[offset .. offset + C*H*W)}.
   *
   * @throws PoisonRecordException OversizedPayload, EmptyPayload, UndecodableImage, EmptyImage,
   *     OversizedImage — each with a reason that says what was wrong and what is accepted
   */
  public void decodeInto(byte[] bytes, String contentType, float[] out, int offset) {
    BufferedImage img = decode(bytes, contentType);
    BufferedImage fitted = fit(img);
    int[] rgb = fitted.getRGB(0, 0, size, size, null, 0, size);
    int plane = size * size;
    for (int i = 0; i < plane; i++) {
      int p = rgb[i];
      int r = (p >>> 16) & 0xff;
      int g = (p >>> 8) & 0xff;
      int b = p & 0xff;
      if (channels == 1) {
        // ITU-R BT.601 luma, as ImageIO's grayscale conversion; for gray input r == g == b.
        float y = r == g && g == b ? r : 0.299f * r + 0.587f * g + 0.114f * b;
        out[offset + i] = y / 127.5f - 1f;
      } else {
        out[offset + i] = r / 127.5f - 1f;
        out[offset + plane + i] = g / 127.5f - 1f;
        out[offset + 2 * plane + i] = b / 127.5f - 1f;
      }
    }
  }

  BufferedImage decode(byte[] bytes, String contentType) {
    if (bytes == null || bytes.length == 0) {
      throw new PoisonRecordException("EmptyPayload", "The image has 0 bytes.");
    }
    if (bytes.length > maxBytes) {
      throw new PoisonRecordException("OversizedPayload", "The image has " + bytes.length
          + " bytes; this worker accepts at most " + maxBytes + " (image.max.bytes).");
    }
    // In-memory stream: ImageIO's default for a plain InputStream may cache through a temporary file per image.
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new PoisonRecordException("UndecodableImage", "No image decoder recognises these " + bytes.length
            + " bytes (content type '" + contentType + "'); accepted: PNG, JPEG, BMP, GIF, WebP.");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w <= 0 || h <= 0) {
          throw new PoisonRecordException("EmptyImage", "The " + reader.getFormatName() + " image is " + w + "x" + h + ".");
        }
        if ((long) w * h > maxPixels) {
          throw new PoisonRecordException("OversizedImage", "The " + reader.getFormatName() + " image is " + w + "x" + h
              + " = " + (long) w * h + " pixels; this worker accepts at most " + maxPixels + " (image.max.pixels).");
        }
        BufferedImage img = reader.read(0);
        if (img == null) {
          throw new PoisonRecordException("UndecodableImage", "The " + reader.getFormatName() + " decoder returned no image.");
        }
        return img;
      } finally {
        reader.dispose();
      }
    } catch (PoisonRecordException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new PoisonRecordException("UndecodableImage", "Corrupt or truncated image (content type '" + contentType
          + "', " + bytes.length + " bytes): " + e.getMessage(), e);
    }
  }

  BufferedImage fit(BufferedImage src) {
    int w = src.getWidth();
    int h = src.getHeight();
    BufferedImage dst = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = dst.createGraphics();
    try {
      g.setColor(Color.BLACK);
      g.fillRect(0, 0, size, size);
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      if (resize == Resize.FIT && w <= size && h <= size) {
        g.drawImage(src, (size - w) / 2, (size - h) / 2, null);
      } else if (resize == Resize.PAD) {
        int side = Math.max(w, h);
        int dw = Math.round((float) w * size / side);
        int dh = Math.round((float) h * size / side);
        g.drawImage(scaled(src, dw, dh), (size - dw) / 2, (size - dh) / 2, null);
      } else {
        int side = Math.min(w, h);
        BufferedImage crop = src.getSubimage((w - side) / 2, (h - side) / 2, side, side);
        g.drawImage(scaled(crop, size, size), 0, 0, null);
      }
    } finally {
      g.dispose();
    }
    return dst;
  }

  // Downscale in halving steps first: a single bicubic step from 4K to 32 px aliases badly.
  private static BufferedImage scaled(BufferedImage src, int w, int h) {
    BufferedImage cur = src;
    while (cur.getWidth() / 2 >= w && cur.getHeight() / 2 >= h) {
      cur = draw(cur, cur.getWidth() / 2, cur.getHeight() / 2);
    }
    return draw(cur, w, h);
  }

  private static BufferedImage draw(BufferedImage src, int w, int h) {
    BufferedImage dst = new BufferedImage(Math.max(1, w), Math.max(1, h), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = dst.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(src, 0, 0, dst.getWidth(), dst.getHeight(), null);
    g.dispose();
    return dst;
  }

  /** Model output pixels ({@code [C, H, W]} in [-1, 1]) at {@code offset} to an image. */
  public static BufferedImage toImage(float[] px, int offset, int channels, int size) {
    BufferedImage img = new BufferedImage(size, size,
        channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    int plane = size * size;
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int i = y * size + x;
        if (channels == 1) {
          img.getRaster().setSample(x, y, 0, toByte(px[offset + i]));
        } else {
          img.setRGB(x, y, toByte(px[offset + i]) << 16 | toByte(px[offset + plane + i]) << 8
              | toByte(px[offset + 2 * plane + i]));
        }
      }
    }
    return img;
  }

  private static int toByte(float v) {
    return Math.max(0, Math.min(255, Math.round((v + 1f) * 127.5f)));
  }
}
