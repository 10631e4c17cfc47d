package io.softstream.cli;

import io.softstream.model.data.FashionMnist;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Real images for the demo, from Debian packages: Fashion-MNIST test images ({@code
 * dataset-fashion-mnist}) as PNG, and crops of the MATE wallpapers ({@code mate-backgrounds}) as
 * JPEG.
 */
final class SampleImages {
  static final Path FASHION_MNIST = FashionMnist.DEFAULT_DIR;
  static final Path MATE_BACKGROUNDS = Path.of("/usr/share/backgrounds/mate");
  static final List<String> FASHION_LABELS = FashionMnist.LABELS;

  /** The label of every photo sample. */
  static final String PHOTO_LABEL = "photo";

  /** One encoded image and where it came from. */
  record Sample(
      String id,
      String source,
      String contentType,
      byte[] bytes,
      int width,
      int height,
      String label) {
    /** A photo crop of {@link #photos}, not a Fashion-MNIST image. */
    boolean isPhoto() {
      return PHOTO_LABEL.equals(label);
    }
  }

  private SampleImages() {}

  /** {@code count} Fashion-MNIST test images (28×28 grayscale PNG), the first ones of the split. */
  static List<Sample> fashionMnist(int count) {
    requireExists(FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz"), "dataset-fashion-mnist");
    try {
      FashionMnist.Split split = FashionMnist.read(FASHION_MNIST, false, count);
      List<Sample> out = new ArrayList<>();
      for (int i = 0; i < split.count(); i++) {
        out.add(
            new Sample(
                "fmnist-test-" + i,
                "fashion-mnist/t10k#" + i,
                "image/png",
                encode(split.image(i), "png"),
                split.cols(),
                split.rows(),
                FASHION_LABELS.get(split.labels()[i])));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read Fashion-MNIST from " + FASHION_MNIST, e);
    }
  }

  /** {@code count} 256×256 JPEG crops at random scales from the MATE wallpapers (seeded). */
  static List<Sample> photos(int count, long seed) {
    requireExists(MATE_BACKGROUNDS, "mate-backgrounds");
    List<Path> files;
    try (Stream<Path> s = Files.walk(MATE_BACKGROUNDS)) {
      files = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Random r = new Random(seed);
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < count && !files.isEmpty(); i++) {
      Path f = files.get(i % files.size());
      BufferedImage src = io.softstream.trainer.PhotoCrops.read(f);
      int side = (int) (Math.min(src.getWidth(), src.getHeight()) * (0.25 + 0.75 * r.nextDouble()));
      int x = r.nextInt(src.getWidth() - side + 1);
      int y = r.nextInt(src.getHeight() - side + 1);
      BufferedImage crop = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = crop.createGraphics();
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(src, 0, 0, 256, 256, x, y, x + side, y + side, null);
      g.dispose();
      out.add(
          new Sample(
              "photo-" + i,
              "mate/" + MATE_BACKGROUNDS.relativize(f) + "@" + x + "," + y + "," + side,
              "image/jpeg",
              encode(crop, "jpg"),
              256,
              256,
              PHOTO_LABEL));
    }
    return out;
  }

  static byte[] encode(BufferedImage img, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(img, format, out)) {
        throw new IOException("no ImageIO writer for " + format);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void requireExists(Path p, String pkg) {
    if (!Files.exists(p)) {
      throw new IllegalStateException(
          p
              + " is missing: install it with `apt-get install "
              + pkg
              + "` (the ./softstream launcher does this on first use).");
    }
  }
}
