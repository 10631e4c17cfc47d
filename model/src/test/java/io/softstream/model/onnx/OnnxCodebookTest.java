package io.softstream.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The codebook read back from an exported encoder.onnx is the one the encoder quantizes with. */
class OnnxCodebookTest {
  @TempDir Path dir;

  @Test
  void theExportedCodebookGivesTheEncodersArgmaxCodes() throws Exception {
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    TestModels.create(dir, cfg, 3);
    float[] cb = OnnxCodebook.read(dir, cfg);
    assertThat(cb).hasSize(cfg.numCodebooks() * cfg.codebookSize() * cfg.codeDim());
    int n = cfg.tokens(), d = cfg.codeDim(), k = cfg.codebookSize(), per = n / cfg.numCodebooks();
    try (TokenizerRuntime r =
        TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.ENCODER)) {
      TokenizerRuntime.Encoded e = r.encode(TestModels.randomPixels(cfg, 4, 9), 4);
      for (int t = 0; t < 4 * n; t++) {
        int g = (t % n) / per;
        int best = -1;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
          double dot = 0, norm = 0;
          for (int i = 0; i < d; i++) {
            float w = cb[(g * k + c) * d + i];
            dot += w * e.values()[t * d + i];
            norm += w * w;
          }
          if (dot / Math.sqrt(norm) > bestScore) {
            bestScore = dot / Math.sqrt(norm);
            best = c;
          }
        }
        // The soft latent lies closest (in angle) to the posterior's argmax codeword.
        assertThat(best).as("token " + t).isEqualTo(e.codes()[t]);
      }
    }
    TokenizerConfig none = TokenizerConfig.tiny("none");
    assertThatThrownBy(() -> OnnxCodebook.read(dir, none)).hasMessageContaining("no codebook");
  }
}
