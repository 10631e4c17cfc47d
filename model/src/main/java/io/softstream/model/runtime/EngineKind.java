package io.softstream.model.runtime;

import java.util.Arrays;
import java.util.Locale;

/** Which inference engine runs a model; {@link #AUTO} picks the best available. */
public enum EngineKind {
  /**
   * For a model with ONNX files: TensorRT (ONNX Runtime's TensorRT provider) where a CUDA GPU,
   * TensorRT's libraries and the GPU build of ONNX Runtime are present, else ONNX Runtime on CPU
   * (logging why). Without ONNX files: PyTorch.
   */
  AUTO,
  ONNXRUNTIME,
  PYTORCH,
  /**
   * ONNX Runtime's TensorRT execution provider, FP16, engines cached ({@link TensorRtSettings}).
   */
  TENSORRT,
  /**
   * Benchmarks only: no inference, zero outputs of the right shape at once, to measure the pipeline
   * around the engine.
   */
  NONE;

  /** Parses {@code auto|onnxruntime|pytorch|tensorrt|none}, case-insensitively. */
  public static EngineKind parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "Unknown engine '"
              + s
              + "'; accepted: "
              + Arrays.stream(values()).map(v -> v.name().toLowerCase(Locale.ROOT)).toList());
    }
  }

  /** The lower-case name used in configs, metrics and logs. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}
