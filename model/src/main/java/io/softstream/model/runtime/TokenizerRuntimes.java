package io.softstream.model.runtime;

import ai.djl.MalformedModelException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one place that chooses engine, model directory and pre/post-processing (as DJL's
 * {@code Criteria} does): every command that runs a model opens it here.
 */
public final class TokenizerRuntimes {
  /** ONNX export of the encoder, next to the DJL parameters, when the model has one. */
  public static final String ENCODER_ONNX = "encoder.onnx";

  private TokenizerRuntimes() {}

  /** What a runtime should load eagerly (the rest loads on first use). */
  public enum Part { ENCODER, DECODER, BOTH }

  /**
   * Opens the model in {@code dir} on {@code engine}.
   *
   * @throws IllegalArgumentException if the directory is not a tokenizer model, or the engine cannot
   *     run it here (the message says why and what would)
   */
  public static TokenizerRuntime open(Path dir, EngineKind engine, Part eager) {
    if (!Files.isRegularFile(dir.resolve("model.json"))) {
      throw new IllegalArgumentException(dir + " is not a model directory (no model.json)");
    }
    EngineKind chosen = resolve(dir, engine);
    try {
      return switch (chosen) {
        case PYTORCH -> {
          DjlBlockRuntime r = new DjlBlockRuntime(dir);
          if (eager != Part.DECODER) {
            r.loadEncoder();
          }
          if (eager != Part.ENCODER) {
            r.loadDecoder();
          }
          yield r;
        }
        default -> throw new IllegalArgumentException("Engine " + chosen.id() + " cannot run " + dir
            + " yet: it needs the ONNX export (" + ENCODER_ONNX + "); use --engine pytorch");
      };
    } catch (MalformedModelException e) {
      throw new IllegalArgumentException("Invalid model directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The engine {@code AUTO} resolves to for {@code dir} on this machine. */
  public static EngineKind resolve(Path dir, EngineKind engine) {
    if (engine != EngineKind.AUTO) {
      return engine;
    }
    if (Files.isRegularFile(dir.resolve(ENCODER_ONNX))) {
      return gpuPresent() ? EngineKind.TENSORRT : EngineKind.ONNXRUNTIME;
    }
    return EngineKind.PYTORCH;
  }

  /** A CUDA device is visible (NVIDIA driver present). */
  static boolean gpuPresent() {
    return Files.exists(Path.of("/dev/nvidia0")) || Files.exists(Path.of("/proc/driver/nvidia/version"));
  }
}
