package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Labelled grayscale images held in memory, pixels in [-1, 1], {@code [n, channels, size, size]}.
 *
 * @param pixels n * channels * size * size floats
 * @param labels class per image
 * @param channels channels per image
 * @param size image side
 */
public record Dataset(float[] pixels, int[] labels, int channels, int size) {

    /** Number of images (labels may be null for an unlabelled folder of images). */
    public int count() {
        return pixels.length / (channels * size * size);
    }

    /**
     * Loads Fashion-MNIST (IDX, plain or .gz) and pads 28x28 to 32x32 with background (-1).
     * The held-out split is the official test set ({@code t10k-*}), 10 000 images.
     *
     * @param train training split (60 000) or test split (10 000)
     * @param limit keep the first {@code limit} images (0 = all)
     */
    public static Dataset fashionMnist(Path dir, boolean train, int limit) throws IOException {
        String prefix = train ? "train" : "t10k";
        byte[] img = readIdx(dir, prefix + "-images-idx3-ubyte", 2051);
        byte[] lab = readIdx(dir, prefix + "-labels-idx1-ubyte", 2049);
        int n = lab.length;
        if (limit > 0) {
            n = Math.min(n, limit);
        }
        int size = 32, pad = 2, src = 28;
        float[] px = new float[n * size * size];
        java.util.Arrays.fill(px, -1f);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = lab[i] & 0xff;
            for (int y = 0; y < src; y++) {
                for (int x = 0; x < src; x++) {
                    int v = img[i * src * src + y * src + x] & 0xff;
                    px[i * size * size + (y + pad) * size + x + pad] = v / 127.5f - 1f;
                }
            }
        }
        return new Dataset(px, labels, 1, size);
    }

    private static byte[] readIdx(Path dir, String base, int magic) throws IOException {
        Path f = dir.resolve(base);
        boolean gz = false;
        if (!Files.exists(f)) {
            f = dir.resolve(base + ".gz");
            gz = true;
        }
        if (!Files.exists(f)) {
            throw new IOException("Missing " + base + "[.gz] in " + dir
                    + ": install the Debian package dataset-fashion-mnist or set data_dir");
        }
        try (InputStream raw = Files.newInputStream(f);
             DataInputStream in = new DataInputStream(new BufferedInputStream(gz ? new GZIPInputStream(raw) : raw))) {
            int m = in.readInt();
            if (m != magic) {
                throw new IOException("Bad IDX magic " + m + " in " + f + ", expected " + magic);
            }
            int n = in.readInt();
            long total = n;
            if (magic == 2051) {
                total *= (long) in.readInt() * in.readInt();
            }
            byte[] data = new byte[(int) total];
            in.readFully(data);
            return data;
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
