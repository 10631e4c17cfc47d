package io.softstream.model.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The 2-D baseline: pixel patches, the 2-D position embedding, and 2-D generator directories. */
class PixelPatchesTest {
  /** 16 tokens (a 4x4 grid of 2x2 patches of an 8x8 image), width 16. */
  private static final GeneratorConfig CFG2D =
      new GeneratorConfig(16, 4, 16, 1, 2, 2, 10, -0.4f, 0.7f, GeneratorConfig.POS_2D);

  @Test
  void patchifyCutsRowMajorPatchesAndUnpatchifyInvertsIt() {
    PixelPatches pp = new PixelPatches(32, 4, 1);
    assertThat(pp.tokens()).isEqualTo(64);
    assertThat(pp.codeDim()).isEqualTo(16);
    float[] img = new float[2 * 32 * 32];
    for (int i = 0; i < img.length; i++) {
      img[i] = i;
    }
    float[] tok = pp.patchify(img, 2);
    assertThat(tok).hasSize(2 * 64 * 16);
    // token 1 of image 0 = the patch at row 0, column 1: pixels (0..3, 4..7)
    assertThat(tok[16]).isEqualTo(4f);
    assertThat(tok[16 + 4]).isEqualTo(32 + 4f);
    // token 8 = row 1, column 0: starts at pixel (4, 0)
    assertThat(tok[8 * 16]).isEqualTo(4 * 32f);
    // image 1 starts after image 0's 64 tokens
    assertThat(tok[64 * 16]).isEqualTo(1024f);
    assertThat(pp.unpatchify(tok, 2)).containsExactly(img);
    PixelPatches rgb = new PixelPatches(8, 2, 3);
    float[] c = randn(2 * 3 * 64);
    assertThat(rgb.unpatchify(rgb.patchify(c, 2), 2)).containsExactly(c);
    assertThatThrownBy(() -> new PixelPatches(30, 4, 1))
        .hasMessageContaining("patch_size dividing image_size");
  }

  @Test
  void twoDimensionalPositionEmbeddingEncodesColumnThenRow() {
    int dim = 16;
    float[] e = Generator.posEmbed2d(4, dim);
    float[] line = Generator.posEmbed(4, dim / 2);
    assertThat(e).hasSize(16 * dim);
    int p = 2 * 4 + 3; // row 2, column 3
    for (int k = 0; k < dim / 2; k++) {
      assertThat(e[p * dim + k]).isEqualTo(line[3 * dim / 2 + k]);
      assertThat(e[p * dim + dim / 2 + k]).isEqualTo(line[2 * dim / 2 + k]);
    }
    assertThatThrownBy(() -> new GeneratorConfig(15, 4, 16, 1, 2, 2, 10, 0f, 1f, "2d"))
        .hasMessageContaining("square");
    assertThatThrownBy(() -> new GeneratorConfig(16, 4, 18, 1, 2, 2, 10, 0f, 1f, "2d"))
        .hasMessageContaining("divisible by 4");
    assertThatThrownBy(() -> new GeneratorConfig(16, 4, 16, 1, 2, 2, 10, 0f, 1f, "3d"))
        .hasMessageContaining("pos_embed");
  }

  @Test
  void twoDimensionalGeneratorHasTheInputShapeAndSamplesUnpatchifyToImages() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = GeneratorDir.newGenerator(CFG2D, m);
      ParameterStore ps = new ParameterStore(m, false);
      NDArray v =
          g.forward(
                  ps,
                  new NDList(
                      m.create(randn(3 * 16 * 4), new Shape(3, 16, 4)),
                      m.create(new float[] {0.1f, 0.5f, 0.9f}),
                      m.create(new float[] {0, 3, 10})),
                  false)
              .singletonOrThrow();
      assertThat(v.getShape()).isEqualTo(new Shape(3, 16, 4));
      float[] tokens =
          new Sampler(g, ps)
              .sample(
                  m,
                  new int[] {1, 2},
                  new long[] {5, 6},
                  Sampler.Settings.of(Sampler.Method.EULER, 3, 2f));
      assertThat(tokens).hasSize(2 * 16 * 4);
      assertThat(new PixelPatches(8, 2, 1).unpatchify(tokens, 2)).hasSize(2 * 64);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void twoDimensionalDirectoryRoundTripsAndOldCardsReadAsOneDimensional(@TempDir Path dir)
      throws Exception {
    PixelPatches pp = new PixelPatches(8, 2, 1);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = GeneratorDir.newGenerator(CFG2D, m);
      g.getParameters().forEach(p -> p.getValue().getArray().addi(0.01f));
      ModelCard card = GeneratorDir.card("g2d", CFG2D, Map.of("latent", pp.toCard()), Map.of());
      GeneratorDir.save(dir, card, g);
      assertThat(Files.readString(dir.resolve("model.json"))).contains("\"pos_embed\" : \"2d\"");
      ModelCard back = GeneratorDir.readCard(dir);
      assertThat(GeneratorDir.config(back)).isEqualTo(CFG2D);
      assertThat(PixelPatches.fromCard(back)).contains(pp);
      Generator h = GeneratorDir.load(dir, m);
      ParameterStore ps = new ParameterStore(m, false);
      NDList in =
          new NDList(
              m.create(randn(2 * 16 * 4), new Shape(2, 16, 4)),
              m.create(new float[] {0.3f, 0.7f}),
              m.create(new float[] {4, 10}));
      assertThat(h.forward(ps, in, false).singletonOrThrow().toFloatArray())
          .containsExactly(g.forward(ps, in, false).singletonOrThrow().toFloatArray());
    }
    // A card written before pos_embed existed reads as a 1-D generator.
    Map<String, Object> old = ModelCard.JSON.convertValue(GeneratorConfig.tiny(), Map.class);
    old.remove("pos_embed");
    GeneratorConfig c = ModelCard.JSON.convertValue(old, GeneratorConfig.class);
    assertThat(c.posEmbed()).isEqualTo(GeneratorConfig.POS_1D);
    assertThat(c).isEqualTo(GeneratorConfig.tiny());
    assertThat(
            PixelPatches.fromCard(
                new ModelCard(
                    ModelCard.FORMAT_VERSION, "x", GeneratorDir.KIND, old, Map.of(), Map.of())))
        .isEmpty();
  }

  private static float[] randn(int n) {
    Random r = new Random(n);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }
}
