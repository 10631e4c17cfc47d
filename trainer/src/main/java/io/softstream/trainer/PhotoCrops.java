package io.softstream.trainer;

import io.softstream.model.image.ImageRejectedException;
import io.softstream.model.image.ImageTranslator;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Unlabelled colour training data from wallpaper pictures (Debian {@code gnome-backgrounds} and
 * {@code mate-backgrounds}): multi-scale random square crops, area-averaged down to {@code size x
 * size} RGB, pixels in [-1, 1], {@code [n, 3, size, size]}.
 *
 * <p><b>Held-out split, by picture.</b> Every file gets a picture key: its folder's name, then its
 * path below that folder, without extension, with the variant suffixes of one picture removed
 * (GNOME's dark/light {@code -d}/{@code -l}, MATE's {@code -Dark}/{@code -Light} and resolution
 * {@code _3840x2160}), e.g. {@code mate/abstract/Elephants} for all three Elephants files and
 * {@code gnome/adwaita} for {@code adwaita-d.webp} and {@code adwaita-l.webp}. A file is held out
 * iff {@code CRC32(UTF-8 key) % 5 == 0} ({@link #HELDOUT_MODULUS}); so held-out crops never come
 * from a training picture, nor from another resolution or colour variant of one.
 *
 * <p><b>Crops.</b> Each readable file of the split is decoded once and gives {@code count / files}
 * crops (the first {@code count % files} files one more); crop {@code c} of file {@code f} is image
 * {@code c * files + f}, so files interleave and any prefix of the set spans every picture. Per
 * file, a {@link Random} seeded with {@code seed} and the key draws, per crop, a side {@code s}
 * log-uniform in [{@code size}, min(maxSide, shorter image side)] and a uniformly placed {@code s x
 * s} window. The pixels are the model's {@link ImageTranslator}'s, as the encode worker prepares
 * them: decoded with its colour policy (grey kept, alpha over mid grey) and each window
 * area-averaged (exact fractional box filter) to {@code size x size} by {@link
 * ImageTranslator#cropInto}. Files the translator cannot read (SVG) or smaller than {@code size}
 * are skipped, and said on the log.
 */
public final class PhotoCrops {
  /** Held out iff CRC32(key) % HELDOUT_MODULUS == 0. */
  public static final int HELDOUT_MODULUS = 5;

  /** The default picture folders (installed by scripts/install-deps.sh). */
  public static final List<String> DEFAULT_DIRS =
      List.of("/usr/share/backgrounds/gnome", "/usr/share/backgrounds/mate");

  private PhotoCrops() {}

  /** One picture file, its split key and split. */
  public record PhotoFile(Path path, String key, boolean heldOut) {}

  /** True when every folder exists and holds at least one file. */
  public static boolean available(List<String> dirs) {
    for (String d : dirs) {
      if (!Files.isDirectory(Path.of(d))) {
        return false;
      }
    }
    return !dirs.isEmpty();
  }

  /** All regular files under {@code dirs}, sorted by key then path, with their split. */
  public static List<PhotoFile> files(List<String> dirs) throws IOException {
    List<PhotoFile> out = new ArrayList<>();
    for (String d : dirs) {
      Path root = Path.of(d);
      if (!Files.isDirectory(root)) {
        throw new IOException(
            "Missing picture folder "
                + root
                + ": install the Debian packages gnome-backgrounds and mate-backgrounds (scripts/install-deps.sh)");
      }
      try (Stream<Path> s = Files.walk(root)) {
        for (Path p : s.filter(Files::isRegularFile).toList()) {
          String rel = root.getFileName() + "/" + root.relativize(p).toString().replace('\\', '/');
          String key = key(rel);
          out.add(new PhotoFile(p, key, heldOut(key)));
        }
      }
    }
    out.sort(
        (a, b) ->
            a.key().equals(b.key()) ? a.path().compareTo(b.path()) : a.key().compareTo(b.key()));
    return out;
  }

  /** The picture key of a relative path such as {@code mate/abstract/Elephants_3840x2160.jpg}. */
  public static String key(String relativePath) {
    String k = relativePath;
    int dot = k.lastIndexOf('.');
    if (dot > k.lastIndexOf('/')) {
      k = k.substring(0, dot);
    }
    return k.replaceAll("(_\\d+x\\d+|-d|-l|-Dark|-Light)$", "");
  }

  /** The split rule: CRC32 of the UTF-8 key, modulo {@link #HELDOUT_MODULUS}, is 0. */
  public static boolean heldOut(String key) {
    CRC32 crc = new CRC32();
    crc.update(key.getBytes(StandardCharsets.UTF_8));
    return crc.getValue() % HELDOUT_MODULUS == 0;
  }

  /**
   * {@code count} crops from the training ({@code heldOut=false}) or held-out files of {@code
   * dirs}.
   *
   * @param log where skipped files and a summary are reported (null = nowhere)
   */
  public static Dataset load(
      List<String> dirs,
      boolean heldOut,
      int count,
      int size,
      int maxSide,
      long seed,
      PrintStream log)
      throws IOException {
    List<PhotoFile> split = files(dirs).stream().filter(f -> f.heldOut() == heldOut).toList();
    return crops(split, count, size, maxSide, seed, log);
  }

  /** {@code count} crops spread over {@code files} (see the class comment). */
  public static Dataset crops(
      List<PhotoFile> files, int count, int size, int maxSide, long seed, PrintStream log)
      throws IOException {
    List<PhotoFile> readable = new ArrayList<>();
    ImageTranslator t = translator(size);
    float[] px = new float[count * 3 * size * size];
    int per = 3 * size * size;
    // First pass, headers only: which files can be read (ImageIO reader present, at least size x
    // size)?
    for (PhotoFile f : files) {
      String why = unreadable(t, f.path(), size);
      if (why != null) {
        if (log != null) {
          log.printf("photos: skipping %s (%s)%n", f.path(), why);
        }
      } else {
        readable.add(f);
      }
    }
    if (readable.isEmpty()) {
      throw new IOException("No readable pictures among " + files.size() + " files");
    }
    int n = readable.size();
    int filled = 0;
    // Crop c of file fi goes to index c * n + fi: files interleave, so any prefix spans every
    // picture.
    for (int fi = 0; fi < n; fi++) {
      int want = count / n + (fi < count % n ? 1 : 0);
      if (want == 0) {
        continue;
      }
      PhotoFile f = readable.get(fi);
      ImageTranslator.Picture pic = picture(t, f.path());
      int w = pic.width(), h = pic.height();
      Random r =
          new Random(
              seed * 1_000_003L
                  + f.key().hashCode() * 31L
                  + f.path().getFileName().toString().hashCode());
      int hi = Math.max(size, Math.min(maxSide, Math.min(w, h)));
      for (int c = 0; c < want; c++) {
        int side = (int) Math.round(size * Math.exp(r.nextDouble() * Math.log(hi / (double) size)));
        side = Math.max(size, Math.min(hi, side));
        int x0 = r.nextInt(w - side + 1), y0 = r.nextInt(h - side + 1);
        t.cropInto(pic, x0, y0, side, px, (c * n + fi) * per);
        filled++;
      }
    }
    if (log != null) {
      log.printf(
          "photos: %d crops of %dx%d from %d of %d %s files%n",
          filled,
          size,
          size,
          n,
          files.size(),
          files.isEmpty() || !files.get(0).heldOut() ? "training" : "held-out");
    }
    return new Dataset(px, null, 3, size);
  }

  /**
   * Widens the colours of training crops in place, drawn from {@code seed} (so a resumed run sees
   * the same data). Why: the pictures cover a small part of the RGB cube, and a tokenizer trained
   * on them alone reproduces a flat crop of an unseen colour as the nearest colour it knows
   * (models/softvq-photo-64: a flat magenta comes back at 8 dB). With {@code colour}, half of the
   * crops get one of the 6 channel orders and, half of those times, inverted values (exact on [-1,
   * 1]); then a {@code syntheticShare} of the crops is replaced by a flat colour or a smooth linear
   * gradient (up to ±32 grey levels across the crop) around a colour drawn uniform in [-1.5, 1.5]
   * per channel and clipped to the cube, so a third of its channels sit at 0 or 255: the pictures
   * rarely reach the gamut's edge, and with colours uniform inside the cube alone flat saturated
   * colours (pure blue, cyan, yellow) still came back at 28-31 dB against 54-61 dB for greys. A
   * {@code fieldShare} of the synthetic crops is a smooth colour field ({@link #smoothField})
   * instead, and an {@code edgeShare} of those is split by a sharp edge ({@link #edgeField}). A
   * share of 0 draws nothing from the generator, so runs from before a share existed reproduce
   * exactly (PhotoCropsTest pins both).
   */
  public static void augment(
      Dataset d,
      boolean colour,
      float syntheticShare,
      float fieldShare,
      float edgeShare,
      long seed) {
    int s = d.size(), plane = s * s, per = d.channels() * plane;
    float[] px = d.pixels();
    int[][] orders = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    float[] tmp = new float[per];
    // One generator for the pass, crops in order: java.util.Random's first draws from nearby seeds
    // are correlated (a seed per crop recoloured 36 of 40 crops instead of about half).
    Random r = new Random(seed);
    for (int i = 0; i < d.count(); i++) {
      int off = i * per;
      if (colour && d.channels() == 3 && r.nextBoolean()) {
        int[] o = orders[r.nextInt(orders.length)];
        float sign = r.nextBoolean() ? -1f : 1f;
        System.arraycopy(px, off, tmp, 0, per);
        for (int c = 0; c < 3; c++) {
          for (int j = 0; j < plane; j++) {
            px[off + c * plane + j] = sign * tmp[o[c] * plane + j];
          }
        }
      }
      if (r.nextFloat() >= syntheticShare) {
        continue;
      }
      if (fieldShare > 0 && r.nextFloat() < fieldShare) {
        smoothField(px, off, s, d.channels(), r);
        if (edgeShare > 0 && r.nextFloat() < edgeShare) {
          edgeField(px, off, s, d.channels(), r);
        }
      } else {
        double angle = r.nextDouble() * 2 * Math.PI;
        boolean flat = r.nextBoolean();
        for (int c = 0; c < d.channels(); c++) {
          float base = Math.max(-1, Math.min(1, r.nextFloat() * 3 - 1.5f));
          float slope = flat ? 0 : (r.nextFloat() * 2 - 1) * 0.25f; // 0.25 = 32 grey levels
          for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
              double t = ((x - s / 2.0) * Math.cos(angle) + (y - s / 2.0) * Math.sin(angle)) / s;
              px[off + c * plane + y * s + x] =
                  (float) Math.max(-1, Math.min(1, base + slope * 2 * t));
            }
          }
        }
      }
    }
  }

  /**
   * Overwrites one crop with a smooth colour field: three cosine waves, each with a random
   * direction, phase and a wavelength of 0.5 to 1.5 crop sides, shared by the channels, each
   * channel with its own amplitudes (up to a per-crop scale drawn log-uniform from 0.1 to 0.6 of
   * the [-1, 1] range) around a colour drawn as for the flat crops, clipped to the cube: about a
   * third of the fields fall in the std buckets below 12.75 grey levels, two fifths in 12.75-25.5,
   * a quarter above (PhotoCropsTest). Why: the ramps above stay under 9 grey levels of std, and a
   * held-out package of wide smooth shading (ukui) lost 1.1 dB to the training packages in the std
   * 12.75-25.5 bucket, 43 % of it between the patches' means.
   */
  static void smoothField(float[] px, int off, int s, int channels, Random r) {
    int waves = 3, plane = s * s;
    double[] kx = new double[waves], ky = new double[waves], phase = new double[waves];
    for (int w = 0; w < waves; w++) {
      double angle = r.nextDouble() * 2 * Math.PI;
      double k = 2 * Math.PI / ((0.5 + r.nextDouble()) * s);
      kx[w] = k * Math.cos(angle);
      ky[w] = k * Math.sin(angle);
      phase[w] = r.nextDouble() * 2 * Math.PI;
    }
    double scale = 0.1 * Math.pow(6, r.nextDouble());
    for (int c = 0; c < channels; c++) {
      float base = Math.max(-1, Math.min(1, r.nextFloat() * 3 - 1.5f));
      double[] amp = new double[waves];
      for (int w = 0; w < waves; w++) {
        amp[w] = (r.nextDouble() * 2 - 1) * scale;
      }
      for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
          double v = base;
          for (int w = 0; w < waves; w++) {
            v += amp[w] * Math.cos(kx[w] * x + ky[w] * y + phase[w]);
          }
          px[off + c * plane + y * s + x] = (float) Math.max(-1, Math.min(1, v));
        }
      }
    }
  }

  /**
   * Splits one smooth field crop by a sharp edge: a line through a point of the crop's middle half,
   * bent by up to a crop side's worth of curvature, anti-aliased over one pixel, with a second
   * smooth field on its far side whose mean colour differs per channel by up to a contrast drawn
   * log-uniform from 6 to 96 grey levels, so most edged crops stay in the medium-detail buckets.
   * Why: the held-out package (ukui) is full of ribbons and stripes with hard borders between
   * smooth shadings; smooth fields alone took its gap in the std 12.75-25.5 bucket only from 1.11
   * to 1.06 dB, and its reconstructions show those borders as staircases along the 8-pixel patches.
   */
  static void edgeField(float[] px, int off, int s, int channels, Random r) {
    int plane = s * s;
    float[] other = new float[channels * plane];
    smoothField(other, 0, s, channels, r);
    double contrast = 0.05 * Math.pow(15, r.nextDouble());
    for (int c = 0; c < channels; c++) {
      double shift = (r.nextDouble() * 2 - 1) * contrast;
      double mine = 0, theirs = 0;
      for (int j = 0; j < plane; j++) {
        mine += px[off + c * plane + j];
        theirs += other[c * plane + j];
      }
      shift += (mine - theirs) / plane;
      for (int j = 0; j < plane; j++) {
        other[c * plane + j] = (float) Math.max(-1, Math.min(1, other[c * plane + j] + shift));
      }
    }
    double angle = r.nextDouble() * 2 * Math.PI, nx = Math.cos(angle), ny = Math.sin(angle);
    double cx = s * (0.25 + 0.5 * r.nextDouble()), cy = s * (0.25 + 0.5 * r.nextDouble());
    double bend = (r.nextDouble() * 2 - 1) / s;
    for (int y = 0; y < s; y++) {
      for (int x = 0; x < s; x++) {
        double along = -(x - cx) * ny + (y - cy) * nx;
        double d = (x - cx) * nx + (y - cy) * ny + bend * along * along;
        float w = (float) Math.max(0, Math.min(1, 0.5 + d));
        for (int c = 0; c < channels; c++) {
          int i = c * plane + y * s + x;
          px[off + i] = w * px[off + i] + (1 - w) * other[i];
        }
      }
    }
  }

  /**
   * The translator of the photo models ({@code size x size} RGB; crops are chosen here, so no
   * resize policy applies).
   */
  public static ImageTranslator translator(int size) {
    return new ImageTranslator(size, 3, ImageTranslator.Resize.CROP, ImageTranslator.FILE_LIMITS);
  }

  /** A picture file decoded by {@code t} (guards, ImageIO, colour policy). */
  public static ImageTranslator.Picture picture(ImageTranslator t, Path f) throws IOException {
    return t.decode(Files.readAllBytes(f), f.getFileName().toString());
  }

  /**
   * Null when the translator reads {@code f}'s header and it is at least {@code size} on each side,
   * else why not.
   */
  private static String unreadable(ImageTranslator t, Path f, int size) {
    try {
      ImageTranslator.Header h = t.header(Files.readAllBytes(f), f.getFileName().toString());
      if (h.width() < size || h.height() < size) {
        return h.width() + "x" + h.height() + " is smaller than " + size + "x" + size;
      }
      return null;
    } catch (ImageRejectedException e) {
      return e.getMessage();
    } catch (IOException e) {
      return "unreadable: " + e.getMessage();
    }
  }

  /**
   * Decodes one picture file with ImageIO, as is (the demo's sample images; model input goes
   * through {@link #picture}).
   */
  public static BufferedImage read(Path f) {
    try {
      BufferedImage img = javax.imageio.ImageIO.read(f.toFile());
      if (img == null) {
        throw new IOException("no ImageIO reader for " + f);
      }
      return img;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
