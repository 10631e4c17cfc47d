package io.softstream.schemas.images;

import java.util.Optional;

/**
 * The format and dimensions an image declares in its first bytes; no pixel is decoded. Format names
 * are ImageIO's ({@code png}, {@code JPEG}, {@code gif}, {@code bmp}, {@code webp}, {@code tif}),
 * so reasons built from them read the same as the encode worker's.
 *
 * @param width declared width; 0 or negative when the header says so (an empty image)
 * @param height declared height
 */
public record ImageHeader(String format, String mimeType, int width, int height) {

  /** Thrown when the magic bytes name a format but its header ends early or is malformed. */
  public static final class TruncatedHeaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TruncatedHeaderException(String message) {
      super(message);
    }
  }

  /**
   * The header of PNG, JPEG, GIF, BMP, WebP or TIFF bytes; empty when the magic bytes match none of
   * them.
   *
   * @throws TruncatedHeaderException the magic bytes match but the dimensions cannot be read
   */
  public static Optional<ImageHeader> sniff(byte[] b) {
    if (starts(b, 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a)) {
      // IHDR is always the first chunk: length(4) "IHDR" width(4) height(4), big-endian.
      need(b, 24, "png", "IHDR");
      if (b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
        throw new TruncatedHeaderException("png: the first chunk is not IHDR");
      }
      return Optional.of(new ImageHeader("png", "image/png", be32(b, 16), be32(b, 20)));
    }
    if (starts(b, 0xff, 0xd8, 0xff)) {
      return Optional.of(jpeg(b));
    }
    if (starts(b, 'G', 'I', 'F', '8') && b.length > 5 && (b[4] == '7' || b[4] == '9')) {
      need(b, 10, "gif", "logical screen descriptor");
      return Optional.of(new ImageHeader("gif", "image/gif", le16(b, 6), le16(b, 8)));
    }
    if (starts(b, 'B', 'M')) {
      need(b, 18, "bmp", "DIB header");
      int dib = le32(b, 14);
      if (dib == 12) { // OS/2 BITMAPCOREHEADER: 16-bit dimensions
        need(b, 22, "bmp", "BITMAPCOREHEADER");
        return Optional.of(new ImageHeader("bmp", "image/bmp", le16(b, 18), le16(b, 20)));
      }
      need(b, 26, "bmp", "BITMAPINFOHEADER");
      // A negative height means top-down rows, not an empty image.
      return Optional.of(new ImageHeader("bmp", "image/bmp", le32(b, 18), Math.abs(le32(b, 22))));
    }
    if (starts(b, 'R', 'I', 'F', 'F')
        && b.length >= 16
        && b[8] == 'W'
        && b[9] == 'E'
        && b[10] == 'B'
        && b[11] == 'P') {
      return Optional.of(webp(b));
    }
    if (starts(b, 'I', 'I', 42, 0) || starts(b, 'M', 'M', 0, 42)) {
      return Optional.of(tiff(b, b[0] == 'I'));
    }
    return Optional.empty();
  }

  /** ImageWidth (tag 256) and ImageLength (257) of the first IFD, SHORT or LONG. */
  private static ImageHeader tiff(byte[] b, boolean le) {
    need(b, 8, "tif", "header");
    long ifd = u32(b, 4, le);
    if (ifd < 8 || ifd + 2 > b.length) {
      throw new TruncatedHeaderException(
          "tif: the first IFD at byte " + ifd + " is outside the " + b.length + " bytes");
    }
    int entries = u16(b, (int) ifd, le);
    need(b, (int) (ifd + 2 + 12L * entries), "tif", "first IFD");
    long w = -1, h = -1;
    for (int i = 0; i < entries; i++) {
      int e = (int) ifd + 2 + 12 * i;
      int tag = u16(b, e, le), type = u16(b, e + 2, le);
      long v = type == 3 ? u16(b, e + 8, le) : type == 4 ? u32(b, e + 8, le) : -1;
      if (tag == 256) {
        w = v;
      } else if (tag == 257) {
        h = v;
      }
    }
    if (w < 0 || h < 0) {
      throw new TruncatedHeaderException("tif: no image width and length in the first IFD");
    }
    return new ImageHeader(
        "tif",
        "image/tiff",
        (int) Math.min(w, Integer.MAX_VALUE),
        (int) Math.min(h, Integer.MAX_VALUE));
  }

  private static int u16(byte[] b, int i, boolean le) {
    return le ? le16(b, i) : be16(b, i);
  }

  private static long u32(byte[] b, int i, boolean le) {
    return (le ? le32(b, i) : be32(b, i)) & 0xffffffffL;
  }

  private static ImageHeader jpeg(byte[] b) {
    int i = 2;
    while (i + 4 <= b.length) {
      if ((b[i] & 0xff) != 0xff) {
        throw new TruncatedHeaderException("JPEG: no marker at byte " + i);
      }
      int marker = b[i + 1] & 0xff;
      if (marker == 0xff) { // fill byte
        i++;
        continue;
      }
      int len = be16(b, i + 2);
      // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
        need(b, i + 9, "JPEG", "SOF segment");
        return new ImageHeader("JPEG", "image/jpeg", be16(b, i + 7), be16(b, i + 5));
      }
      if (marker == 0xda || marker == 0xd9) {
        break; // scan data or end of image before any frame header
      }
      i += 2 + len;
    }
    throw new TruncatedHeaderException("JPEG: no frame header (SOF) before byte " + b.length);
  }

  private static ImageHeader webp(byte[] b) {
    need(b, 30, "webp", "VP8 chunk");
    String chunk = new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII);
    return switch (chunk) {
      case "VP8X" -> new ImageHeader("webp", "image/webp", le24(b, 24) + 1, le24(b, 27) + 1);
      case "VP8L" -> {
        if ((b[20] & 0xff) != 0x2f) {
          throw new TruncatedHeaderException("webp: bad VP8L signature");
        }
        int bits = le32(b, 21);
        yield new ImageHeader(
            "webp", "image/webp", (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
      }
      case "VP8 " -> {
        if ((b[23] & 0xff) != 0x9d || (b[24] & 0xff) != 0x01 || (b[25] & 0xff) != 0x2a) {
          throw new TruncatedHeaderException("webp: bad VP8 start code");
        }
        yield new ImageHeader("webp", "image/webp", le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff);
      }
      default -> throw new TruncatedHeaderException("webp: unknown chunk '" + chunk + "'");
    };
  }

  private static boolean starts(byte[] b, int... magic) {
    if (b.length < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((b[i] & 0xff) != magic[i]) {
        return false;
      }
    }
    return true;
  }

  private static void need(byte[] b, int n, String format, String what) {
    if (b.length < n) {
      throw new TruncatedHeaderException(
          format + ": the " + what + " ends early (" + b.length + " bytes)");
    }
  }

  private static int be16(byte[] b, int i) {
    return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
  }

  private static int be32(byte[] b, int i) {
    return (b[i] & 0xff) << 24
        | (b[i + 1] & 0xff) << 16
        | (b[i + 2] & 0xff) << 8
        | (b[i + 3] & 0xff);
  }

  private static int le16(byte[] b, int i) {
    return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8;
  }

  private static int le24(byte[] b, int i) {
    return le16(b, i) | (b[i + 2] & 0xff) << 16;
  }

  private static int le32(byte[] b, int i) {
    return le24(b, i) | (b[i + 3] & 0xff) << 24;
  }
}
