package io.softstream.model.runtime;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that chooses engine, model directory and pre/post-processing (as DJL's {@code
 * Criteria} does): every command that runs a model opens it here.
 */
public final class TokenizerRuntimes {
  /** ONNX export of the encoder, next to the DJL parameters, when the model has one. */
  public static final String ENCODER_ONNX = "encoder.onnx";

  /** What {@link EngineKind#TENSORRT} answers on a machine without a GPU or TensorRT. */
  public static final String NO_TENSORRT =
      "TensorRT needs a CUDA GPU and TensorRT libraries; found none: use --engine onnxruntime";

  private static final Logger LOG = LoggerFactory.getLogger(TokenizerRuntimes.class);

  private TokenizerRuntimes() {}

  /** What a runtime should load eagerly (the rest loads on first use). */
  public enum Part {
    ENCODER,
    DECODER,
    BOTH
  }

  /**
   * Engine settings that do not change which engine runs.
   *
   * @param intraOpThreads ONNX Runtime intra-op threads per session; 0 = ONNX Runtime's default
   */
  public record Options(int intraOpThreads) {
    /** Checks the values. */
    public Options {
      if (intraOpThreads < 0) {
        throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
      }
    }

    /** Engine defaults. */
    public static Options defaults() {
      return new Options(0);
    }
  }

  /** Opens the model in {@code dir} on {@code engine} with {@link Options#defaults()}. */
  public static TokenizerRuntime open(Path dir, EngineKind engine, Part eager) {
    return open(dir, engine, eager, Options.defaults());
  }

  /**
   * Opens the model in {@code dir} on {@code engine}.
   *
   * @throws IllegalArgumentException if the directory is not a tokenizer model, or the engine
   *     cannot run it here (the message says why and what would)
   */
  public static TokenizerRuntime open(Path dir, EngineKind engine, Part eager, Options options) {
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
        case ONNXRUNTIME -> openOnnx(dir, eager, options, null);
        case NONE -> new NoInferenceRuntime(dir);
        case TENSORRT -> {
          String missing = tensorRtMissing();
          if (missing != null) {
            throw new IllegalArgumentException(missing);
          }
          TensorRtSettings trt = TensorRtSettings.defaults();
          try {
            yield new BatchSplittingRuntime(openOnnx(dir, eager, options, trt), trt.maxBatch());
          } catch (IllegalStateException | java.io.UncheckedIOException e) {
            if (engine != EngineKind.AUTO) {
              throw new IllegalArgumentException(e.getMessage(), e);
            }
            LOG.warn("engine auto: ONNX Runtime on CPU for {}, because {}", dir, e.getMessage());
            yield openOnnx(dir, eager, options, null);
          }
        }
        case AUTO -> throw new IllegalStateException("resolve() never returns AUTO");
      };
    } catch (MalformedModelException e) {
      throw new IllegalArgumentException(
          "Invalid model directory " + dir + ": " + e.getMessage(), e);
    }
  }

  private static OnnxTokenizerRuntime openOnnx(
      Path dir, Part eager, Options options, TensorRtSettings trt) throws MalformedModelException {
    requireOnnx(dir, eager, trt == null ? EngineKind.ONNXRUNTIME : EngineKind.TENSORRT);
    OnnxTokenizerRuntime r = new OnnxTokenizerRuntime(dir, options.intraOpThreads(), trt);
    try {
      if (eager != Part.DECODER) {
        r.loadEncoder();
      }
      if (eager != Part.ENCODER) {
        r.loadDecoder();
      }
    } catch (RuntimeException e) {
      r.close();
      throw e;
    }
    return r;
  }

  private static void requireOnnx(Path dir, Part eager, EngineKind engine)
      throws MalformedModelException {
    List<String> missing = new ArrayList<>();
    if (eager != Part.DECODER && !Files.isRegularFile(dir.resolve(ENCODER_ONNX))) {
      missing.add(ENCODER_ONNX);
    }
    if (eager != Part.ENCODER
        && !Files.isRegularFile(dir.resolve(OnnxTokenizerRuntime.DECODER_ONNX))) {
      missing.add(OnnxTokenizerRuntime.DECODER_ONNX);
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "Engine "
              + engine.id()
              + " cannot run "
              + dir
              + ": "
              + missing
              + " missing; export the model first (softstream export --model "
              + dir
              + "), or use --engine pytorch");
    }
    String stale;
    try {
      stale = io.softstream.model.onnx.OnnxExport.staleExport(dir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("Cannot read the model in " + dir, e);
    }
    if (stale != null) {
      throw new IllegalArgumentException(stale);
    }
  }

  /** The engine {@code AUTO} resolves to for {@code dir} on this machine. */
  public static EngineKind resolve(Path dir, EngineKind engine) {
    if (engine != EngineKind.AUTO) {
      return engine;
    }
    if (Files.isRegularFile(dir.resolve(ENCODER_ONNX))) {
      String missing = tensorRtMissing();
      if (missing == null) {
        return EngineKind.TENSORRT;
      }
      // A warning only where a GPU sits idle; on a CPU machine this is the expected choice.
      if (gpuPresent()) {
        LOG.warn("engine auto: ONNX Runtime on CPU for {}, because {}", dir, missing);
      } else {
        LOG.info("engine auto: ONNX Runtime on CPU for {}, because {}", dir, missing);
      }
      return EngineKind.ONNXRUNTIME;
    }
    return EngineKind.PYTORCH;
  }

  /** A CUDA device is visible (NVIDIA driver present). */
  static boolean gpuPresent() {
    return Files.exists(Path.of("/dev/nvidia0"))
        || Files.exists(Path.of("/proc/driver/nvidia/version"));
  }

  /**
   * TensorRT's runtime library ({@code libnvinfer.so*}) is on the library path or a standard
   * location.
   */
  static boolean tensorRtLibrariesPresent() {
    List<String> dirs =
        new ArrayList<>(
            List.of(
                "/usr/lib/x86_64-linux-gnu",
                "/usr/lib64",
                "/usr/local/lib",
                "/usr/local/cuda/lib64",
                "/usr/local/tensorrt/lib",
                "/opt/tensorrt/lib"));
    for (String var : new String[] {"LD_LIBRARY_PATH", "TENSORRT_HOME", "TRT_LIBPATH"}) {
      String v = System.getenv(var);
      if (v != null) {
        for (String d : v.split(File.pathSeparator)) {
          dirs.add(d);
          dirs.add(d + "/lib");
        }
      }
    }
    for (String d : dirs) {
      Path p = Path.of(d);
      if (!Files.isDirectory(p)) {
        continue;
      }
      try (Stream<Path> files = Files.list(p)) {
        if (files.anyMatch(f -> f.getFileName().toString().startsWith("libnvinfer.so"))) {
          return true;
        }
      } catch (IOException | SecurityException e) {
        // unreadable folder: look in the next one
      }
    }
    return false;
  }

  /** Whether {@code TENSORRT} could run here (see {@link #tensorRtMissing()}). */
  static boolean tensorRtUsable() {
    return tensorRtMissing() == null;
  }

  /**
   * Why {@link EngineKind#TENSORRT} cannot run on this machine, or null when it can: it needs a
   * CUDA GPU, TensorRT's libraries and the GPU build of ONNX Runtime (the {@code onnxruntime_gpu}
   * jar, which the GPU image carries) on the class path.
   */
  public static String tensorRtMissing() {
    return tensorRtUnavailable(gpuPresent(), tensorRtLibrariesPresent(), onnxRuntimeHasTensorRt());
  }

  /** The ONNX Runtime on the class path has the TensorRT and CUDA execution providers. */
  static boolean onnxRuntimeHasTensorRt() {
    try {
      // DJL's engine first: it must be the first to start ONNX Runtime (see OnnxTokenizerRuntime).
      Engine.getEngine(OnnxTokenizerRuntime.ENGINE);
      EnumSet<OrtProvider> p = OrtEnvironment.getAvailableProviders();
      return p.contains(OrtProvider.TENSOR_RT) && p.contains(OrtProvider.CUDA);
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** Why TensorRT cannot run given what was found, or null when it can. */
  static String tensorRtUnavailable(boolean gpu, boolean libs, boolean onnxRuntimeGpu) {
    if (!gpu && !libs) {
      return NO_TENSORRT;
    }
    if (!gpu || !libs) {
      return "TensorRT needs a CUDA GPU and TensorRT libraries; found "
          + (gpu ? "a GPU but no libnvinfer" : "libnvinfer but no GPU")
          + ": use --engine onnxruntime";
    }
    if (!onnxRuntimeGpu) {
      return "TensorRT needs the GPU build of ONNX Runtime; found a GPU and libnvinfer, but the"
          + " class path has the CPU build (com.microsoft.onnxruntime:onnxruntime, no TensorRT"
          + " provider): run the GPU image (mvn -Pgpu, onnxruntime_gpu) or use --engine onnxruntime";
    }
    return null;
  }
}
