package io.softstream.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.TestModels;
import io.softstream.model.runtime.TokenizerRuntimes.Part;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TensorRT (FP16) against ONNX Runtime on the same export, within 1e-2. Skipped, with the reason
 * {@link TokenizerRuntimes#tensorRtMissing} gives, wherever TensorRT cannot run: every machine
 * without a GPU, and the CPU build (the GPU build of ONNX Runtime comes with {@code -Pgpu}).
 * scripts/device-check-tensorrt.sh is the GPU-side check of the same path.
 */
class OnnxTensorRtParityTest {
  @TempDir Path dir;

  @Test
  void tensorRtFp16MatchesOnnxRuntime() throws Exception {
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    TestModels.create(dir, cfg, 2);
    Assumptions.assumeTrue(TokenizerRuntimes.tensorRtUsable(), TokenizerRuntimes.tensorRtMissing());
    float[] px = TestModels.randomPixels(cfg, 8, 4);
    try (TokenizerRuntime ort = TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.BOTH);
        TokenizerRuntime trt = TokenizerRuntimes.open(dir, EngineKind.TENSORRT, Part.BOTH)) {
      TokenizerRuntime.Encoded a = ort.encode(px, 8);
      TokenizerRuntime.Encoded b = trt.encode(px, 8);
      assertThat(TestModels.maxAbsDiff(a.values(), b.values())).isLessThanOrEqualTo(1e-2f);
      assertThat(TestModels.maxAbsDiff(ort.decode(a.values(), 8), trt.decode(a.values(), 8)))
          .isLessThanOrEqualTo(1e-2f);
    }
  }
}
