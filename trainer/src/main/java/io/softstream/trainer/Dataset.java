package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softstream.model.data.FashionMnist;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Images held in memory, pixels in [-1, 1], {@code [n, channels, size, size]}: labelled
 * Fashion-MNIST ({@link #fashionMnist}) or unlabelled colour crops ({@link PhotoCrops}).
 *
 * @param pixels n * channels * size * size floats
 * @param labels class per image (null when unlabelled)
 * @param channels channels per image
 * @param size image side
 */
public record Dataset(float[] pixels, int[] labels, int channels, int size) {

  /** Number of images (labels may be null for an unlabelled folder of images). */
  public int count() {
    return pixels.length / (channels * size * size);
  }

  /**
   * Loads Fashion-MNIST (IDX, plain or .gz, read by {@link FashionMnist}) and pads 28x28 to 32x32
   * with background (-1). The held-out split is the official test set ({@code t10k-*}), 10 000
   * images.
   *
   * @param train training split (60 000) or test split (10 000)
   * @param limit keep the first {@code limit} images (0 = all)
   */
  public static Dataset fashionMnist(Path dir, boolean train, int limit) throws IOException {
    FashionMnist.Split split = FashionMnist.read(dir, train, limit);
    return new Dataset(split.padded(32), split.labels(), 1, 32);
  }

  /**
   * Fills {@code order} with 0..length-1 in a Fisher–Yates order drawn from {@code r} (one data
   * epoch).
   */
  public static void shuffledOrder(int[] order, java.util.Random r) {
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    for (int i = order.length - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /** The images at {@code idx} as {@code [B, C, size, size]}. */
  public NDArray batch(NDManager manager, int[] idx) {
    int per = channels * size * size;
    float[] buf = new float[idx.length * per];
    for (int i = 0; i < idx.length; i++) {
      System.arraycopy(pixels, idx[i] * per, buf, i * per, per);
    }
    return manager.create(buf, new Shape(idx.length, channels, size, size));
  }

  /** Images {@code from .. to-1} as {@code [B, C, size, size]}. */
  public NDArray range(NDManager manager, int from, int to) {
    int[] idx = new int[to - from];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = from + i;
    }
    return batch(manager, idx);
  }
}
