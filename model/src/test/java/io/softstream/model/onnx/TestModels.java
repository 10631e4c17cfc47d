package io.softstream.model.onnx;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.data.FashionMnist;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/** Random-weight model directories and inputs for the parity tests. */
public final class TestModels {
  static final Path FASHION_TEST =
      Path.of("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

  private TestModels() {}

  /** Saves a freshly initialised tokenizer (seeded) into {@code dir} and exports it to ONNX. */
  public static OnnxExport.Result create(Path dir, TokenizerConfig cfg, int seed) throws Exception {
    Engine pt = Engine.getEngine("PyTorch");
    pt.setRandomSeed(seed);
    try (NDManager m = NDManager.newBaseManager(pt.getEngineName())) {
      TokenDecoder dec = ModelDir.newDecoder(cfg, m);
      // The decoder convolution starts at zero, which would make its parity trivially true.
      for (Pair<String, Parameter> p : dec.getDirectParameters()) {
        if (p.getKey().startsWith("conv_")) {
          NDArray a = p.getValue().getArray();
          a.addi(m.randomNormal(0, 0.05f, a.getShape(), a.getDataType()));
        }
      }
      ModelDir.saveTokenizer(
          dir,
          ModelCard.tokenizer("test-" + cfg.quantizer(), cfg, Map.of("seed", seed), Map.of()),
          ModelDir.newEncoder(cfg, m),
          dec);
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

  /**
   * The first {@code count} Fashion-MNIST test images, scaled to [-1, 1] and padded with -1 to
   * 32x32.
   */
  static float[] fashionMnist(int count) {
    try {
      return FashionMnist.read(FASHION_TEST.getParent(), false, count).padded(32);
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
