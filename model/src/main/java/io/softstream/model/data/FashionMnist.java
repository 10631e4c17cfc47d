package io.softstream.model.data;

import io.softstream.model.image.ImageTranslator;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The one Fashion-MNIST reader (IDX files, plain or {@code .gz}, as the Debian package {@code
 * dataset-fashion-mnist} installs them). The trainer's {@code Dataset}, the demo's sample images
 * and the benchmarks all read through it.
 */
public final class FashionMnist {
  /** Where {@code dataset-fashion-mnist} installs the files. */
  public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");

  /** Class names, by label. */
  public static final List<String> LABELS =
      List.of(
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot");

  private static final int IMAGES_MAGIC = 2051;
  private static final int LABELS_MAGIC = 2049;

  private FashionMnist() {}

  /**
   * One split in memory: 8-bit grayscale images, row-major, and their labels.
   *
   * @param pixels count * rows * cols bytes (0 = black)
   * @param labels class per image, 0..9
   * @param rows image height (28)
   * @param cols image width (28)
   */
  public record Split(byte[] pixels, int[] labels, int rows, int cols) {
    /** Number of images. */
    public int count() {
      return labels.length;
    }

    /** Image {@code i} as a grayscale {@link BufferedImage}. */
    public BufferedImage image(int i) {
      BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
      img.getRaster()
          .setDataElements(
              0, 0, cols, rows, Arrays.copyOfRange(pixels, i * rows * cols, (i + 1) * rows * cols));
      return img;
    }

    /**
     * Every image padded with background to {@code size x size} (centred), pixels {@code v / 127.5
     * - 1} in [-1, 1], {@code [count, 1, size, size]} row-major: the {@link ImageTranslator}'s
     * {@code FIT}, as the encode worker prepares a 28x28 PNG.
     */
    public float[] padded(int size) {
      ImageTranslator t =
          new ImageTranslator(size, 1, ImageTranslator.Resize.FIT, ImageTranslator.FILE_LIMITS);
      float[] px = new float[count() * size * size];
      int[] grey = new int[rows * cols];
      for (int i = 0; i < count(); i++) {
        for (int k = 0; k < grey.length; k++) {
          int v = pixels[i * rows * cols + k] & 0xff;
          grey[k] = 0xff000000 | v << 16 | v << 8 | v;
        }
        t.fitInto(new ImageTranslator.Picture(grey, cols, rows), px, i * size * size);
      }
      return px;
    }
  }

  /**
   * Reads a split: training (60 000 images, {@code train-*}) or the official test split (10 000,
   * {@code t10k-*}).
   *
   * @param dir folder with the IDX files (plain or gzipped)
   * @param limit keep only the first {@code limit} images (0 = all)
   * @throws IOException a file is missing (the message names the Debian package) or not IDX
   */
  public static Split read(Path dir, boolean train, int limit) throws IOException {
    String prefix = train ? "train" : "t10k";
    try (DataInputStream img = open(dir, prefix + "-images-idx3-ubyte", IMAGES_MAGIC);
        DataInputStream lab = open(dir, prefix + "-labels-idx1-ubyte", LABELS_MAGIC)) {
      int n = img.readInt();
      int rows = img.readInt();
      int cols = img.readInt();
      int nLabels = lab.readInt();
      if (nLabels != n) {
        throw new IOException(
            "Fashion-MNIST " + prefix + ": " + n + " images but " + nLabels + " labels in " + dir);
      }
      if (limit > 0) {
        n = Math.min(n, limit);
      }
      byte[] pixels = new byte[n * rows * cols];
      img.readFully(pixels);
      byte[] l = new byte[n];
      lab.readFully(l);
      int[] labels = new int[n];
      for (int i = 0; i < n; i++) {
        labels[i] = l[i] & 0xff;
      }
      return new Split(pixels, labels, rows, cols);
    }
  }

  /** Opens {@code base} or {@code base.gz} in {@code dir} and checks its magic number. */
  private static DataInputStream open(Path dir, String base, int magic) throws IOException {
    Path f = dir.resolve(base);
    boolean gz = false;
    if (!Files.exists(f)) {
      f = dir.resolve(base + ".gz");
      gz = true;
    }
    if (!Files.exists(f)) {
      throw new IOException(
          "Missing "
              + base
              + "[.gz] in "
              + dir
              + ": install the Debian package dataset-fashion-mnist or set data_dir");
    }
    InputStream raw = Files.newInputStream(f);
    DataInputStream in =
        new DataInputStream(new BufferedInputStream(gz ? new GZIPInputStream(raw) : raw));
    int m = in.readInt();
    if (m != magic) {
      in.close();
      throw new IOException("Bad IDX magic " + m + " in " + f + ", expected " + magic);
    }
    return in;
  }
}
