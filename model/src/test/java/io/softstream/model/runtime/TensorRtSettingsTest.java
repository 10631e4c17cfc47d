package io.softstream.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.TestModels;
import io.softstream.model.runtime.TokenizerRuntimes.Part;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The TensorRT path as far as it runs without a GPU: the exact provider options (FP16, engine cache
 * keyed by the ONNX file's SHA-256, one batch profile), what the CPU build answers, why {@code
 * auto} stays on CPU, and the batch splitting that keeps shapes inside the profile.
 */
class TensorRtSettingsTest {
  @TempDir Path dir;
  @TempDir Path cache;

  private static String sha256(Path f) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
  }

  @Test
  void providerOptionsAreFp16CachedByTheOnnxHashWithOneBatchProfile() throws Exception {
    TestModels.create(dir, TokenizerConfig.tiny("softvq"), 1);
    TensorRtSettings trt = new TensorRtSettings(cache, 0, true, 1, 32, 256);
    Path encoder = dir.resolve(TokenizerRuntimes.ENCODER_ONNX);
    Path decoder = dir.resolve(OnnxTokenizerRuntime.DECODER_ONNX);
    String encCache = cache.resolve(sha256(encoder)).toAbsolutePath().toString();
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("device_id", "0");
    expected.put("trt_fp16_enable", "1");
    expected.put("trt_engine_cache_enable", "1");
    expected.put("trt_engine_cache_path", encCache);
    expected.put("trt_timing_cache_enable", "1");
    expected.put("trt_timing_cache_path", encCache);
    expected.put("trt_profile_min_shapes", "images:1x1x8x8");
    expected.put("trt_profile_opt_shapes", "images:32x1x8x8");
    expected.put("trt_profile_max_shapes", "images:256x1x8x8");
    assertThat(trt.providerOptions(encoder, "images", 1, 8, 8)).containsExactlyEntriesOf(expected);
    assertThat(trt.providerOptions(decoder, "tokens", 4, 4))
        .containsEntry("trt_engine_cache_path", cache.resolve(sha256(decoder)).toString())
        .containsEntry("trt_profile_max_shapes", "tokens:256x4x4");

    // Keyed by content: the same bytes elsewhere share engines, a new export gets its own.
    Path copy = Files.copy(encoder, cache.resolve("elsewhere.onnx"));
    assertThat(trt.cacheDir(copy)).isEqualTo(trt.cacheDir(encoder));
    TestModels.create(dir, TokenizerConfig.tiny("softvq"), 2);
    assertThat(trt.cacheDir(encoder)).isNotEqualTo(trt.cacheDir(copy));

    TensorRtSettings d = TensorRtSettings.defaults();
    assertThat(d)
        .extracting("fp16", "minBatch", "optBatch", "maxBatch")
        .containsExactly(true, 1, 32, 256);
    assertThatThrownBy(() -> new TensorRtSettings(cache, 0, true, 8, 4, 256))
        .hasMessageContaining("1 <= min <= opt <= max");
  }

  @Test
  void theCpuBuildHasNoTensorRtProviderAndSaysSo() throws Exception {
    TestModels.create(dir, TokenizerConfig.tiny("softvq"), 1);
    Assumptions.assumeFalse(
        TokenizerRuntimes.onnxRuntimeHasTensorRt(), "the GPU build of ONNX Runtime is here");
    Path encoder = dir.resolve(TokenizerRuntimes.ENCODER_ONNX);
    TensorRtSettings trt = new TensorRtSettings(cache, 0, true, 1, 32, 256);
    assertThatThrownBy(() -> trt.sessionOptions(encoder, "images", 1, 8, 8))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("ONNX Runtime cannot run TensorRT here: ");
    assertThat(cache.resolve(sha256(encoder))).isDirectory();

    assertThat(TokenizerRuntimes.tensorRtUnavailable(false, false, false))
        .isEqualTo(TokenizerRuntimes.NO_TENSORRT);
    assertThat(TokenizerRuntimes.tensorRtUnavailable(true, false, true))
        .contains("found a GPU but no libnvinfer");
    assertThat(TokenizerRuntimes.tensorRtUnavailable(true, true, false))
        .contains("class path has the CPU build")
        .contains("onnxruntime_gpu")
        .endsWith("use --engine onnxruntime");
    assertThat(TokenizerRuntimes.tensorRtUnavailable(true, true, true)).isNull();
    assertThat(TokenizerRuntimes.tensorRtMissing()).isNotNull();

    // auto stays on ONNX Runtime on CPU and logs why.
    Logger log = (Logger) LoggerFactory.getLogger(TokenizerRuntimes.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try (TokenizerRuntime r = TokenizerRuntimes.open(dir, EngineKind.AUTO, Part.ENCODER)) {
      assertThat(r.engine()).isEqualTo(EngineKind.ONNXRUNTIME);
    } finally {
      log.detachAppender(lines);
    }
    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly(
            "engine auto: ONNX Runtime on CPU for "
                + dir
                + ", because "
                + TokenizerRuntimes.tensorRtMissing());
  }

  @Test
  void batchesLargerThanTheProfileRunAsSlicesWithTheSameResults() throws Exception {
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    TestModels.create(dir, cfg, 3);
    float[] px = TestModels.randomPixels(cfg, 5, 7);
    try (TokenizerRuntime whole = TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.BOTH);
        TokenizerRuntime split =
            new BatchSplittingRuntime(
                TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.BOTH), 2)) {
      TokenizerRuntime.Encoded a = whole.encode(px, 5);
      TokenizerRuntime.Encoded b = split.encode(px, 5);
      assertThat(b.batch()).isEqualTo(5);
      assertThat(b.values()).hasSize(5 * 4 * 4);
      assertThat(TestModels.maxAbsDiff(a.values(), b.values())).isLessThanOrEqualTo(1e-6f);
      assertThat(b.codes()).containsExactly(a.codes());
      float[] da = whole.decode(a.values(), 5);
      float[] db = split.decode(a.values(), 5);
      assertThat(db).hasSize(5 * 64);
      assertThat(TestModels.maxAbsDiff(da, db)).isLessThanOrEqualTo(1e-6f);
      assertThatThrownBy(() -> split.encode(new float[3], 5)).hasMessageContaining("expects 320");
    }
  }
}
