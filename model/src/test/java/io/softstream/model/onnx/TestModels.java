package io.softstream.model.onnx;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/** Random-weight model directories and inputs for the parity tests. */
public final class TestModels {
    static final Path FASHION_TEST = Path.of("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

    private TestModels() {}

    /** Saves a freshly initialised tokenizer (seeded) into {@code dir} and exports it to ONNX. */
    public static OnnxExport.Result create(Path dir, TokenizerConfig cfg, int seed) throws Exception {
        Engine pt = Engine.getEngine("PyTorch");
        pt.setRandomSeed(seed);
        try (NDManager m = NDManager.newBaseManager(pt.getEngineName())) {
            ModelDir.saveTokenizer(dir, ModelCard.tokenizer("test-" + cfg.quantizer(), cfg, Map.of("seed", seed), Map.of()),
                    ModelDir.newEncoder(cfg, m), ModelDir.newDecoder(cfg, m));
        }
        return OnnxExport.export(dir);
    }

    /** Uniform [-1, 1] pixels. */
    public static float[] randomPixels(TokenizerConfig cfg, int batch, long seed) {
        Random r = new Random(seed);
        float[] x = new float[batch * cfg.channels() * cfg.imageSize() * cfg.imageSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() * 2 - 1;
        }
        return x;
    }

    /** The first {@code count} Fashion-MNIST test images, scaled to [-1, 1] and padded with -1 to 32x32. */
    static float[] fashionMnist(int count) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(FASHION_TEST))) {
            byte[] header = in.readNBytes(16);
            if (header.length != 16 || header[3] != 3) {
                throw new IOException(FASHION_TEST + " is not an IDX image file");
            }
            byte[] px = in.readNBytes(count * 28 * 28);
            float[] out = new float[count * 32 * 32];
            java.util.Arrays.fill(out, -1f);
            for (int i = 0; i < count; i++) {
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        int v = px[i * 784 + y * 28 + x] & 0xff;
                        out[i * 1024 + (y + 2) * 32 + x + 2] = v / 127.5f - 1f;
                    }
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
