package io.softstream.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.TestModels;
import io.softstream.model.runtime.TokenizerRuntimes.Options;
import io.softstream.model.runtime.TokenizerRuntimes.Part;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@link TokenizerRuntimes} picks and refuses the ONNX Runtime and TensorRT engines. */
class OnnxRuntimeSelectionTest {
  @TempDir Path dir;

  private void saveWithoutExport() throws Exception {
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    try (NDManager m = NDManager.newBaseManager(Engine.getEngine("PyTorch").getEngineName())) {
      ModelDir.saveTokenizer(
          dir,
          ModelCard.tokenizer("t", cfg, Map.of(), Map.of()),
          ModelDir.newEncoder(cfg, m),
          ModelDir.newDecoder(cfg, m));
    }
  }

  @Test
  void onnxRuntimeWithoutExportSaysHowToFixIt() throws Exception {
    saveWithoutExport();
    assertThat(TokenizerRuntimes.resolve(dir, EngineKind.AUTO)).isEqualTo(EngineKind.PYTORCH);
    assertThatThrownBy(() -> TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.ENCODER))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("encoder.onnx")
        .hasMessageContaining("softstream export --model");
  }

  @Test
  void autoPicksOnnxRuntimeOnceExportedAndLoadsOnlyWhatIsAsked() throws Exception {
    TestModels.create(dir, TokenizerConfig.tiny("hardvq"), 1);
    assertThat(TokenizerRuntimes.resolve(dir, EngineKind.AUTO))
        .isEqualTo(
            TokenizerRuntimes.tensorRtUsable() ? EngineKind.TENSORRT : EngineKind.ONNXRUNTIME);
    // an encode worker needs no decoder.onnx
    Files.delete(dir.resolve(OnnxTokenizerRuntime.DECODER_ONNX));
    try (TokenizerRuntime r =
        TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.ENCODER, new Options(1))) {
      TokenizerRuntime.Encoded e = r.encode(TestModels.randomPixels(r.config(), 2, 3), 2);
      assertThat(e.values()).hasSize(2 * 4 * 4);
      assertThat(java.util.Arrays.stream(e.codes()).allMatch(c -> c >= 0 && c < 8)).isTrue();
      assertThatThrownBy(() -> r.decode(e.values(), 2)).hasMessageContaining("No decoder.onnx");
      assertThatThrownBy(() -> r.encode(new float[3], 1)).hasMessageContaining("expects 64");
    }
  }

  @Test
  void onnxFilesOfOtherWeightsAreRefusedWithTheFix() throws Exception {
    TestModels.create(dir, TokenizerConfig.tiny("softvq"), 1);
    TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.BOTH).close();
    // Retrained in place: new weights and card beside the old export (the `train` trap).
    saveWithoutExport();
    for (EngineKind e : new EngineKind[] {EngineKind.ONNXRUNTIME, EngineKind.AUTO}) {
      if (TokenizerRuntimes.resolve(dir, e) == EngineKind.ONNXRUNTIME) {
        assertThatThrownBy(() -> TokenizerRuntimes.open(dir, e, Part.ENCODER))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("ONNX would serve another model")
            .hasMessageContaining("softstream export --model " + dir);
      }
    }
    io.softstream.model.onnx.OnnxExport.export(dir);
    TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.BOTH).close();
    // Weights changed after an export that recorded their hash.
    Files.write(
        dir.resolve(ModelDir.DECODER),
        new byte[] {1, 2, 3},
        java.nio.file.StandardOpenOption.APPEND);
    assertThatThrownBy(() -> TokenizerRuntimes.open(dir, EngineKind.ONNXRUNTIME, Part.DECODER))
        .hasMessageContaining("were exported from other weights");
  }

  @Test
  void negativeThreadCountIsRejected() {
    assertThatThrownBy(() -> new Options(-1)).hasMessageContaining("intraOpThreads must be >= 0");
  }

  @Test
  void tensorRtWithoutGpuNamesTheAlternative() throws Exception {
    TestModels.create(dir, TokenizerConfig.tiny("softvq"), 1);
    org.junit.jupiter.api.Assumptions.assumeFalse(
        TokenizerRuntimes.gpuPresent(), "this machine has a GPU");
    assertThatThrownBy(() -> TokenizerRuntimes.open(dir, EngineKind.TENSORRT, Part.ENCODER))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("TensorRT needs a CUDA GPU and TensorRT libraries; found ")
        .hasMessageEndingWith(": use --engine onnxruntime");
    if (!TokenizerRuntimes.tensorRtLibrariesPresent()) {
      assertThatThrownBy(() -> TokenizerRuntimes.open(dir, EngineKind.TENSORRT, Part.ENCODER))
          .hasMessage(TokenizerRuntimes.NO_TENSORRT);
    }
  }

  @Test
  void engineNoneAnswersZerosOfTheModelsShapeAndStillChecksTheInput() throws Exception {
    saveWithoutExport(); // needs no engine files at all
    assertThat(EngineKind.parse("none")).isEqualTo(EngineKind.NONE);
    try (TokenizerRuntime r = TokenizerRuntimes.open(dir, EngineKind.NONE, Part.ENCODER)) {
      TokenizerConfig c = r.config();
      TokenizerRuntime.Encoded e = r.encode(TestModels.randomPixels(c, 3, 1), 3);
      assertThat(r.engine()).isEqualTo(EngineKind.NONE);
      assertThat(e.values()).hasSize(3 * c.tokens() * c.codeDim()).containsOnly(0f);
      assertThat(e.codes()).hasSize(3 * c.tokens()).containsOnly(0);
      assertThat(r.decode(e.values(), 3)).hasSize(3 * c.channels() * c.imageSize() * c.imageSize());
      assertThatThrownBy(() -> r.encode(new float[3], 1)).hasMessageContaining("expects");
    }
  }
}
