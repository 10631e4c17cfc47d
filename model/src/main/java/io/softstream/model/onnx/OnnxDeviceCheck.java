package io.softstream.model.onnx;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * Prepares the inputs and ONNX Runtime reference outputs that scripts/device-check-tensorrt.sh
 * compares TensorRT against.
 *
 * <p>{@code OnnxDeviceCheck WORK_DIR [MODEL_DIR]}: without a model directory a Fashion-MNIST-shaped
 * tokenizer with random weights is created in {@code WORK_DIR/model}; the model is exported to ONNX
 * if it has no {@code encoder.onnx}. For batch sizes 1, 8 and 64 it writes {@code in_bB.f32}
 * (pixels), {@code ort_tokens_bB.f32}, {@code ort_codes_bB.i64} and {@code ort_images_bB.f32}
 * (decoder on the ONNX Runtime tokens), all raw little-endian, and {@code shapes.env} with the
 * model's C, S, N, D for the script. It prints ONNX Runtime encoder images/s per batch size.
 */
public final class OnnxDeviceCheck {
  /** Batch sizes the device check measures. */
  static final int[] BATCHES = {1, 8, 64};

  private OnnxDeviceCheck() {}

  /** Entry point; see the class comment for the arguments. */
  public static void main(String[] args) throws IOException, MalformedModelException {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: OnnxDeviceCheck WORK_DIR [MODEL_DIR]");
      System.exit(2);
    }
    Path work = Path.of(args[0]);
    Files.createDirectories(work);
    Path model = args.length == 2 ? Path.of(args[1]) : work.resolve("model");
    if (args.length == 1 && !Files.isRegularFile(model.resolve(ModelDir.CARD))) {
      TokenizerConfig cfg = TokenizerConfig.fashionMnist();
      Engine pt = Engine.getEngine("PyTorch");
      pt.setRandomSeed(1);
      try (NDManager m = NDManager.newBaseManager(pt.getEngineName())) {
        ModelDir.saveTokenizer(
            model,
            ModelCard.tokenizer("device-check-random", cfg, Map.of("seed", 1), Map.of()),
            ModelDir.newEncoder(cfg, m),
            ModelDir.newDecoder(cfg, m));
      }
    }
    if (!Files.isRegularFile(model.resolve(OnnxExport.ENCODER_FILE))
        || !Files.isRegularFile(model.resolve(OnnxExport.DECODER_FILE))) {
      OnnxExport.export(model);
    }
    try (TokenizerRuntime ort =
        TokenizerRuntimes.open(model, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.BOTH)) {
      TokenizerConfig cfg = ort.config();
      Files.writeString(
          work.resolve("shapes.env"),
          "MODEL="
              + model.toAbsolutePath()
              + "\nC="
              + cfg.channels()
              + "\nS="
              + cfg.imageSize()
              + "\nN="
              + cfg.tokens()
              + "\nD="
              + cfg.codeDim()
              + "\n");
      Random r = new Random(42);
      for (int b : BATCHES) {
        float[] px = new float[b * cfg.channels() * cfg.imageSize() * cfg.imageSize()];
        for (int i = 0; i < px.length; i++) {
          px[i] = r.nextFloat() * 2 - 1;
        }
        TokenizerRuntime.Encoded e = ort.encode(px, b);
        float[] images = ort.decode(e.values(), b);
        write(work.resolve("in_b" + b + ".f32"), px);
        write(work.resolve("ort_tokens_b" + b + ".f32"), e.values());
        write(work.resolve("ort_images_b" + b + ".f32"), images);
        ByteBuffer codes = ByteBuffer.allocate(e.codes().length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int c : e.codes()) {
          codes.putLong(c);
        }
        Files.write(work.resolve("ort_codes_b" + b + ".i64"), codes.array());
        int iters = Math.max(3, 256 / b);
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
          ort.encode(px, b);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("onnxruntime encoder batch %d: %.1f images/s%n", b, b * iters / s);
      }
    }
  }

  private static void write(Path f, float[] v) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    Files.write(f, b.array());
  }
}
