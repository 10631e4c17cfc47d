package io.softstream.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntime.Encoded;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.model.runtime.TokenizerRuntimes.Part;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX Runtime on the exported files against the DJL blocks on PyTorch, same weights and inputs.
 */
class OnnxParityTest {
  static final float TOL = 1e-4f;

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"softvq", "hardvq", "none"})
  void tinyModelMatchesPyTorchOnRandomInputs(String quantizer) throws Exception {
    TokenizerConfig cfg = TokenizerConfig.tiny(quantizer);
    TestModels.create(dir, cfg, 11);
    try (TokenizerRuntime pt = TokenizerRuntimes.open(dir, EngineKind.PYTORCH, Part.BOTH);
        TokenizerRuntime ort =
            TokenizerRuntimes.open(
                dir, EngineKind.ONNXRUNTIME, Part.BOTH, new TokenizerRuntimes.Options(1))) {
      assertThat(ort.engine()).isEqualTo(EngineKind.ONNXRUNTIME);
      for (int batch : new int[] {1, 5}) {
        compare(
            quantizer + " random b" + batch,
            pt,
            ort,
            TestModels.randomPixels(cfg, batch, 100 + batch),
            batch);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {4, 2})
  void decoderConvolutionMatchesPyTorch(int patchSize) throws Exception {
    // Patch 4: a 2x2 grid (padding reaches past every patch); patch 2: 4x4, with inner patches.
    TokenizerConfig cfg =
        new TokenizerConfig(
            8, 3, patchSize, 4, 4, 8, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2,
            2, 3);
    TestModels.create(dir, cfg, 12);
    try (TokenizerRuntime pt = TokenizerRuntimes.open(dir, EngineKind.PYTORCH, Part.BOTH);
        TokenizerRuntime ort =
            TokenizerRuntimes.open(
                dir, EngineKind.ONNXRUNTIME, Part.BOTH, new TokenizerRuntimes.Options(1))) {
      for (int batch : new int[] {1, 3}) {
        compare(
            "conv p" + patchSize + " b" + batch,
            pt,
            ort,
            TestModels.randomPixels(cfg, batch, 200 + batch),
            batch);
      }
    }
  }

  @Test
  void fashionMnistShapedModelMatchesPyTorchOnRealImages() throws Exception {
    Assumptions.assumeTrue(
        Files.isRegularFile(TestModels.FASHION_TEST), "needs " + TestModels.FASHION_TEST);
    TokenizerConfig cfg = TokenizerConfig.fashionMnist();
    TestModels.create(dir, cfg, 5);
    try (TokenizerRuntime pt = TokenizerRuntimes.open(dir, EngineKind.PYTORCH, Part.BOTH);
        TokenizerRuntime ort = TokenizerRuntimes.open(dir, EngineKind.AUTO, Part.BOTH)) {
      assertThat(ort.engine()).isEqualTo(EngineKind.ONNXRUNTIME);
      float[] five = TestModels.fashionMnist(5);
      float[] one = new float[1024];
      System.arraycopy(five, 0, one, 0, 1024);
      compare("fmnist b1", pt, ort, one, 1);
      compare("fmnist b5", pt, ort, five, 5);
    }
  }

  private static void compare(
      String what, TokenizerRuntime pt, TokenizerRuntime ort, float[] pixels, int batch) {
    Encoded a = pt.encode(pixels, batch);
    Encoded b = ort.encode(pixels, batch);
    float tokDiff = TestModels.maxAbsDiff(a.values(), b.values());
    float[] pa = pt.decode(a.values(), batch);
    float[] pb = ort.decode(a.values(), batch);
    float pixDiff = TestModels.maxAbsDiff(pa, pb);
    System.out.printf(
        "PARITY %s: tokens max|diff| %.3g, pixels max|diff| %.3g%n", what, tokDiff, pixDiff);
    assertThat(b.values()).hasSize(a.values().length);
    assertThat(tokDiff).as(what + " tokens").isLessThanOrEqualTo(TOL);
    assertThat(b.codes()).as(what + " codes").containsExactly(a.codes());
    assertThat(pixDiff).as(what + " pixels").isLessThanOrEqualTo(TOL);
  }
}
