package io.softstream.model.runtime;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer's ONNX export ({@code encoder.onnx}, {@code decoder.onnx}) on DJL's ONNX Runtime
 * engine: on CPU, or with {@link TensorRtSettings} on TensorRT (the GPU build of ONNX Runtime).
 * Encoder and decoder sessions load lazily, like {@link DjlBlockRuntime}. Works offline: the ONNX
 * Runtime jar bundles its native libraries.
 */
public final class OnnxTokenizerRuntime extends AbstractTokenizerRuntime {
  /** DJL's engine name for ONNX Runtime. */
  public static final String ENGINE = "OnnxRuntime";

  /** Decoder export file name. */
  public static final String DECODER_ONNX = "decoder.onnx";

  private final int intraOpThreads;
  private final TensorRtSettings tensorRt;
  private final List<SessionOptions> sessionOptions = new ArrayList<>();
  private Model encoder;
  private Model decoder;

  /**
   * Opens {@code dir}; nothing is loaded until {@link #loadEncoder()}, {@link #loadDecoder()} or
   * first use.
   *
   * @param intraOpThreads ONNX Runtime intra-op threads per session; 0 keeps ONNX Runtime's default
   *     (one per core)
   * @throws MalformedModelException if {@code model.json} is missing or invalid
   */
  public OnnxTokenizerRuntime(Path dir, int intraOpThreads) throws MalformedModelException {
    this(dir, intraOpThreads, null);
  }

  /**
   * Opens {@code dir} on ONNX Runtime's TensorRT provider ({@code tensorRt}), or on CPU when it is
   * null.
   */
  public OnnxTokenizerRuntime(Path dir, int intraOpThreads, TensorRtSettings tensorRt)
      throws MalformedModelException {
    super(dir);
    this.tensorRt = tensorRt;
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
    }
    this.intraOpThreads = intraOpThreads;
    // Started before any other ai.onnxruntime use, or DJL cannot set its thread pool later.
    Engine.getEngine(ENGINE);
  }

  @Override
  public EngineKind engine() {
    return tensorRt == null ? EngineKind.ONNXRUNTIME : EngineKind.TENSORRT;
  }

  /** Loads the encoder session now (workers warm up before reporting ready). */
  public OnnxTokenizerRuntime loadEncoder() {
    if (encoder == null) {
      encoder =
          load(
              "encoder",
              TokenizerRuntimes.ENCODER_ONNX,
              "images",
              cfg.channels(),
              cfg.imageSize(),
              cfg.imageSize());
    }
    return this;
  }

  /** Loads the decoder session now. */
  public OnnxTokenizerRuntime loadDecoder() {
    if (decoder == null) {
      decoder = load("decoder", DECODER_ONNX, "tokens", cfg.tokens(), cfg.codeDim());
    }
    return this;
  }

  private Model load(String name, String file, String input, long... dims) {
    Path f = dir.resolve(file);
    if (!Files.isRegularFile(f)) {
      throw new IllegalStateException(
          "No "
              + file
              + " in "
              + dir
              + ": export the model to ONNX first (softstream export --model "
              + dir
              + "), or use --engine pytorch");
    }
    Model m = Model.newInstance(name, Device.cpu(), ENGINE);
    try {
      Map<String, Object> options = new HashMap<>();
      if (intraOpThreads > 0) {
        // DJL reads intraOpNumThreads only when interOpNumThreads is also given.
        options.put("interOpNumThreads", "1");
        options.put("intraOpNumThreads", Integer.toString(intraOpThreads));
      }
      // DJL takes ready-made session options; its own "ortDevice" option has no
      // FP16/cache/shapes. Kept open until close().
      SessionOptions so =
          tensorRt != null ? tensorRt.sessionOptions(f, input, dims) : new SessionOptions();
      sessionOptions.add(so);
      // Idle intra-op threads sleep instead of spinning: on cores shared with image decoding, the
      // Kafka clients or other processes, a spinning thread burns the CPU the thread it waits for
      // needs (batch 32, 2 threads, loaded 2-core machine: 1.9 instead of 3.8-4.5 ms CPU/image).
      so.addConfigEntry("session.intra_op.allow_spinning", "0");
      options.put("sessionOptions", so);
      m.load(dir, name, options);
      return m;
    } catch (OrtException e) {
      m.close();
      throw new IllegalStateException("ONNX Runtime session options: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    } catch (IOException e) {
      m.close();
      throw new UncheckedIOException("Could not read " + f, e);
    } catch (MalformedModelException e) {
      m.close();
      if (tensorRt != null) {
        // As a rule not the file's fault: a CUDA, cuDNN or TensorRT library missing or mismatched.
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        throw new IllegalStateException(
            "TensorRT could not load " + f + ": " + cause.getMessage(), e);
      }
      throw new IllegalStateException(
          "ONNX Runtime rejected "
              + f
              + ": "
              + e.getMessage()
              + "; re-export it (softstream export --model "
              + dir
              + ")",
          e);
    }
  }

  @Override
  public Encoded encode(float[] pixels, int batch) {
    loadEncoder();
    requirePixels(pixels, batch);
    int c = cfg.channels();
    int s = cfg.imageSize();
    try (NDManager m = encoder.getNDManager().newSubManager()) {
      NDArray x = m.create(pixels, new Shape(batch, c, s, s));
      NDList out = encoder.getBlock().forward(new ParameterStore(m, false), new NDList(x), false);
      float[] values = out.get("tokens").toFloatArray();
      long[] codes64 = out.get("codes").toType(DataType.INT64, false).toLongArray();
      int[] codes = new int[codes64.length];
      for (int i = 0; i < codes.length; i++) {
        codes[i] = (int) codes64[i];
      }
      return new Encoded(batch, cfg.tokens(), cfg.codeDim(), values, codes);
    }
  }

  @Override
  public float[] decode(float[] tokens, int batch) {
    loadDecoder();
    requireTokens(tokens, batch);
    try (NDManager m = decoder.getNDManager().newSubManager()) {
      NDArray z = m.create(tokens, new Shape(batch, cfg.tokens(), cfg.codeDim()));
      NDList out = decoder.getBlock().forward(new ParameterStore(m, false), new NDList(z), false);
      return out.get("images").toFloatArray();
    }
  }

  private static void requireLength(float[] a, long expected, String what) {
    if (a.length != expected) {
      throw new IllegalArgumentException(
          what + " has " + a.length + " floats; the model expects " + expected);
    }
  }

  @Override
  public void close() {
    if (encoder != null) {
      encoder.close();
    }
    if (decoder != null) {
      decoder.close();
    }
    sessionOptions.forEach(SessionOptions::close);
  }
}
