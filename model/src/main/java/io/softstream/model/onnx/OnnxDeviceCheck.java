package io.softstream.model.onnx;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TensorRtSettings;
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
 * model's C, S, N, D for the script. It prints ONNX Runtime encoder images/s per batch size. Then,
 * where TensorRT can run, it checks the product's own TensorRT engine against those outputs ({@link
 * #tensorRt}); exit 1 if parity fails, 2 if TensorRT cannot run here.
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
      int rc = tensorRt(model, ort, r);
      if (rc != 0) {
        System.exit(rc);
      }
    }
  }

  /**
   * The product's own TensorRT path ({@code TokenizerRuntimes.open(..., TENSORRT, ...)}: ONNX
   * Runtime's TensorRT provider, FP16, engine cache) against ONNX Runtime on CPU: opened twice (the
   * second open must find the cached engines), then tokens and decoded pixels compared at batch 1,
   * 8, 64 and 300 (over the profile's 256: split). Prints one JSON line per step.
   *
   * @return 0 parity holds, 1 it does not, 2 TensorRT cannot run here (the reason is printed)
   */
  static int tensorRt(Path model, TokenizerRuntime ort, Random r) {
    String missing = TokenizerRuntimes.tensorRtMissing();
    if (missing != null) {
      System.out.println("product TensorRT path not run: " + missing);
      return 2;
    }
    TensorRtSettings trt = TensorRtSettings.defaults();
    Path cache = trt.cacheDir(model.resolve(OnnxExport.ENCODER_FILE));
    TokenizerConfig cfg = ort.config();
    int per = cfg.channels() * cfg.imageSize() * cfg.imageSize();
    boolean ok = true;
    for (int open = 1; open <= 2; open++) {
      long t0 = System.nanoTime();
      try (TokenizerRuntime t =
          TokenizerRuntimes.open(model, EngineKind.TENSORRT, TokenizerRuntimes.Part.BOTH)) {
        t.encode(new float[per], 1);
        System.out.printf(
            "{\"step\":\"open_%d\",\"engine\":\"%s\",\"load_and_first_batch_s\":%.2f,"
                + "\"engine_cache\":\"%s\",\"cache_files\":%d}%n",
            open, t.engine().id(), (System.nanoTime() - t0) / 1e9, cache, count(cache));
        if (open == 1) {
          continue;
        }
        for (int b : new int[] {1, 8, 64, 300}) {
          float[] px = new float[b * per];
          for (int i = 0; i < px.length; i++) {
            px[i] = r.nextFloat() * 2 - 1;
          }
          TokenizerRuntime.Encoded want = ort.encode(px, b);
          TokenizerRuntime.Encoded got = t.encode(px, b);
          float tokDiff = maxAbsDiff(want.values(), got.values());
          float imgDiff = maxAbsDiff(ort.decode(want.values(), b), t.decode(want.values(), b));
          int same = 0;
          for (int i = 0; i < want.codes().length; i++) {
            same += want.codes()[i] == got.codes()[i] ? 1 : 0;
          }
          int iters = Math.max(5, 2048 / b);
          long t1 = System.nanoTime();
          for (int i = 0; i < iters; i++) {
            t.encode(px, b);
          }
          double secs = (System.nanoTime() - t1) / 1e9;
          boolean good = tokDiff <= TOLERANCE && imgDiff <= TOLERANCE;
          ok &= good;
          System.out.printf(
              "{\"step\":\"parity\",\"batch\":%d,\"tokens_max_abs_diff\":%.3g,"
                  + "\"images_max_abs_diff\":%.3g,\"codes_agreement\":%.4f,"
                  + "\"tensorrt_encoder_images_per_s\":%.1f,\"parity_ok\":%b}%n",
              b, tokDiff, imgDiff, same / (double) want.codes().length, b * iters / secs, good);
        }
      }
    }
    System.out.println(
        "PRODUCT TENSORRT "
            + (ok ? "OK" : "FAILED")
            + " (FP16 TensorRT vs FP32 ONNX Runtime, tolerance "
            + TOLERANCE
            + ")");
    return ok ? 0 : 1;
  }

  /** Max abs difference TensorRT FP16 may have from ONNX Runtime FP32. */
  static final float TOLERANCE = 1e-2f;

  private static float maxAbsDiff(float[] a, float[] b) {
    float m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return a.length == b.length ? m : Float.NaN;
  }

  private static long count(Path dir) {
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).count();
    } catch (IOException e) {
      return -1;
    }
  }

  private static void write(Path f, float[] v) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    Files.write(f, b.array());
  }
}
