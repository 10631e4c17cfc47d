package io.softstream.model.runtime;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import io.softstream.model.onnx.OnnxExport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * How {@link EngineKind#TENSORRT} runs an ONNX file: ONNX Runtime's TensorRT execution provider in
 * FP16, CUDA for the nodes TensorRT does not take, CPU last. Built engines are cached on disk under
 * {@code cacheRoot/<SHA-256 of the ONNX file>}, so a restarted worker loads them instead of
 * building (minutes), and another export never reuses a stale engine. One dynamic-shape profile
 * (batch {@code minBatch..maxBatch}, tuned for {@code optBatch}) covers every batch a worker sends:
 * larger batches are split (see {@link TokenizerRuntimes}), so no shape triggers a rebuild.
 *
 * @param cacheRoot folder of the engine caches, one sub-folder per ONNX file
 * @param deviceId CUDA device
 * @param fp16 let TensorRT pick FP16 kernels
 * @param minBatch smallest batch of the profile
 * @param optBatch batch TensorRT tunes for (the workers' default {@code batch.max.records})
 * @param maxBatch largest batch of the profile
 */
public record TensorRtSettings(
    Path cacheRoot, int deviceId, boolean fp16, int minBatch, int optBatch, int maxBatch) {
  /** Environment variable naming the engine cache folder (the GPU pods point it at a volume). */
  public static final String CACHE_ENV = "SOFTSTREAM_TENSORRT_CACHE";

  /** Checks the values. */
  public TensorRtSettings {
    if (deviceId < 0 || minBatch < 1 || optBatch < minBatch || maxBatch < optBatch) {
      throw new IllegalArgumentException(
          "TensorRT settings need device >= 0 and 1 <= min <= opt <= max batch; got device "
              + deviceId
              + ", batches "
              + minBatch
              + "/"
              + optBatch
              + "/"
              + maxBatch);
    }
  }

  /**
   * Device 0, FP16, batches 1/32/256, cache in {@code $SOFTSTREAM_TENSORRT_CACHE} or else {@code
   * ~/.cache/softstream/tensorrt}.
   */
  public static TensorRtSettings defaults() {
    String env = System.getenv(CACHE_ENV);
    Path root =
        env != null && !env.isBlank()
            ? Path.of(env)
            : Path.of(System.getProperty("user.home"), ".cache", "softstream", "tensorrt");
    return new TensorRtSettings(root, 0, true, 1, 32, 256);
  }

  /** The engine cache folder of {@code onnx}: its SHA-256 under {@link #cacheRoot}. */
  public Path cacheDir(Path onnx) {
    try {
      return cacheRoot.resolve(OnnxExport.sha256(Files.readAllBytes(onnx)));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + onnx, e);
    }
  }

  /**
   * The TensorRT provider's options for {@code onnx}, whose one input {@code input} has the shape
   * {@code [batch, dims...]}.
   */
  public Map<String, String> providerOptions(Path onnx, String input, long... dims) {
    Path cache = cacheDir(onnx).toAbsolutePath();
    Map<String, String> o = new LinkedHashMap<>();
    o.put("device_id", Integer.toString(deviceId));
    o.put("trt_fp16_enable", fp16 ? "1" : "0");
    o.put("trt_engine_cache_enable", "1");
    o.put("trt_engine_cache_path", cache.toString());
    // Kernel timings are reused across engines of the same GPU: later builds are faster.
    o.put("trt_timing_cache_enable", "1");
    o.put("trt_timing_cache_path", cache.toString());
    o.put("trt_profile_min_shapes", shape(input, minBatch, dims));
    o.put("trt_profile_opt_shapes", shape(input, optBatch, dims));
    o.put("trt_profile_max_shapes", shape(input, maxBatch, dims));
    return o;
  }

  private static String shape(String input, int batch, long[] dims) {
    return input
        + ":"
        + LongStream.concat(LongStream.of(batch), Arrays.stream(dims))
            .mapToObj(Long::toString)
            .collect(Collectors.joining("x"));
  }

  /**
   * Session options with the TensorRT provider ({@link #providerOptions}) first and CUDA second;
   * ONNX Runtime adds CPU last. Creates the cache folder.
   *
   * @throws IllegalStateException if this ONNX Runtime has no TensorRT or CUDA provider (the CPU
   *     build), with ONNX Runtime's reason
   */
  public SessionOptions sessionOptions(Path onnx, String input, long... dims) {
    Map<String, String> options = providerOptions(onnx, input, dims);
    SessionOptions so = new SessionOptions();
    try {
      Files.createDirectories(Path.of(options.get("trt_engine_cache_path")));
      OrtTensorRTProviderOptions trt = new OrtTensorRTProviderOptions(deviceId);
      for (Map.Entry<String, String> e : options.entrySet()) {
        trt.add(e.getKey(), e.getValue());
      }
      so.addTensorrt(trt);
      so.addCUDA(deviceId);
      return so;
    } catch (OrtException e) {
      so.close();
      throw new IllegalStateException(
          "ONNX Runtime cannot run TensorRT here: " + e.getMessage(), e);
    } catch (IOException e) {
      so.close();
      throw new UncheckedIOException(
          "Cannot create the TensorRT engine cache "
              + options.get("trt_engine_cache_path")
              + " (set "
              + CACHE_ENV
              + " to a writable folder)",
          e);
    }
  }
}
