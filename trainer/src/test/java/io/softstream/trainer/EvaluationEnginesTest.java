package io.softstream.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.OnnxExport;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same evaluation on every CPU engine gives the same PSNR (±0.01 dB) as the trainer's own
 * blocks.
 */
class EvaluationEnginesTest {
  @TempDir Path dir;

  @Test
  void psnrAgreesAcrossEngines() throws Exception {
    TokenizerConfig cfg =
        new TokenizerConfig(
            32, 1, 4, 8, 4, 32, 1, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 32, 1, 2, 32, 1, 2, 2);
    Dataset test = Dataset.fashionMnist(Path.of(TrainConfig.defaults().dataDir()), false, 120);
    Evaluation.Options o = new Evaluation.Options(120, 0, 20, null);
    double blocksPsnr;
    try (NDManager m = NDManager.newBaseManager()) {
      TokenEncoder enc = ModelDir.newEncoder(cfg, m);
      TokenDecoder dec = ModelDir.newDecoder(cfg, m);
      ModelDir.saveTokenizer(
          dir, ModelCard.tokenizer("tiny-eval", cfg, Map.of(), Map.of()), enc, dec);
      blocksPsnr = (Double) Evaluation.evaluate(enc, dec, null, test, o).get("psnr");
    }
    OnnxExport.export(dir);
    for (EngineKind engine : new EngineKind[] {EngineKind.PYTORCH, EngineKind.ONNXRUNTIME}) {
      try (TokenizerRuntime rt = TokenizerRuntimes.open(dir, engine, TokenizerRuntimes.Part.BOTH)) {
        Map<String, Object> r = Evaluation.evaluate(rt, null, test, o);
        assertThat((Double) r.get("psnr"))
            .as(engine.id())
            .isCloseTo(blocksPsnr, org.assertj.core.data.Offset.offset(0.01));
        assertThat(r)
            .containsKeys(
                "ssim",
                "token_bytes_per_image",
                "jpeg_psnr_at_equal_bytes",
                "bicubic_psnr_at_equal_bytes")
            .doesNotContainKey("linear_probe_accuracy");
      }
    }
    assertThat(blocksPsnr).isBetween(3.0, 30.0);
  }
}
