package io.softstream.model.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelCard;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generator network, its objective and samplers on tiny shapes. */
class GeneratorTest {
  private static final GeneratorConfig CFG = GeneratorConfig.tiny();

  private static NDArray forward(
      Generator g, ParameterStore ps, NDManager m, float[] x, float t, float[] y) {
    int b = y.length;
    float[] tt = new float[b];
    java.util.Arrays.fill(tt, t);
    return g.forward(
            ps,
            new NDList(
                m.create(x, new Shape(b, CFG.tokens(), CFG.codeDim())), m.create(tt), m.create(y)),
            false)
        .singletonOrThrow();
  }

  private static float[] randn(int n, long seed) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  /**
   * A generator whose zero-initialised layers have been given random values, so every path is
   * exercised.
   */
  private static Generator randomised(NDManager m, long seed) {
    Engine.getEngine("PyTorch").setRandomSeed((int) seed);
    Generator g = GeneratorDir.newGenerator(CFG, m);
    Random r = new Random(seed);
    g.getParameters()
        .forEach(
            p -> {
              NDArray a = p.getValue().getArray();
              float[] v = a.toFloatArray();
              for (int i = 0; i < v.length; i++) {
                v[i] += (float) (0.05 * r.nextGaussian());
              }
              a.set(v);
            });
    return g;
  }

  @Test
  void outputHasTheInputShapeAndAdaLnZeroMakesTheFreshNetworkOutputExactlyZero() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = GeneratorDir.newGenerator(CFG, m);
      ParameterStore ps = new ParameterStore(m, false);
      NDArray v = forward(g, ps, m, randn(3 * 16, 1), 0.3f, new float[] {0, 9, 10});
      assertThat(v.getShape()).isEqualTo(new Shape(3, 4, 4));
      for (float f : v.toFloatArray()) {
        assertThat(f).isEqualTo(0f);
      }
      assertThat(g.getOutputShapes(new Shape[] {new Shape(3, 4, 4), new Shape(3), new Shape(3)})[0])
          .isEqualTo(new Shape(3, 4, 4));
    }
  }

  @Test
  void positionEmbeddingIsTheFixedSineCosineTable() {
    float[] e = Generator.posEmbed(3, 4);
    // row p: sin(p), sin(p/100), cos(p), cos(p/100)
    assertThat(e[4 + 0]).isCloseTo((float) Math.sin(1), within(1e-6f));
    assertThat(e[4 + 1]).isCloseTo((float) Math.sin(0.01), within(1e-6f));
    assertThat(e[4 + 2]).isCloseTo((float) Math.cos(1), within(1e-6f));
    assertThat(e[8 + 3]).isCloseTo((float) Math.cos(0.02), within(1e-6f));
    assertThat(e[0]).isEqualTo(0f);
    assertThat(e[2]).isEqualTo(1f);
  }

  @Test
  void saveAndLoadGiveTheSameNetwork(@TempDir Path dir) throws Exception {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = randomised(m, 3);
      ParameterStore ps = new ParameterStore(m, false);
      float[] x = randn(2 * 16, 5);
      float[] before = forward(g, ps, m, x, 0.7f, new float[] {1, 10}).toFloatArray();
      GeneratorConfig cfg = CFG.withLatentStats(0.5f, 2f);
      GeneratorDir.save(dir, GeneratorDir.card("tiny-gen", cfg, Map.of("steps", 0), Map.of()), g);
      assertThat(Files.readString(dir.resolve("model.json")))
          .contains("\"kind\" : \"generator\"", "\"latent_std\" : 2.0");
      Generator back = GeneratorDir.load(dir, m);
      assertThat(back.config()).isEqualTo(cfg);
      assertThat(forward(back, ps, m, x, 0.7f, new float[] {1, 10}).toFloatArray())
          .containsExactly(before);
    }
  }

  @Test
  void loadingATokenizerDirectoryAsAGeneratorSaysWhatItHolds(@TempDir Path dir) throws Exception {
    io.softstream.model.ModelDir.writeCard(
        dir, new ModelCard(1, "tok", ModelCard.KIND_TOKENIZER, null, null, null));
    assertThatThrownBy(() -> GeneratorDir.readCard(dir))
        .hasMessageContaining("holds a tokenizer, not a generator");
  }

  @Test
  void flowMatchingLossFallsOnAToyDataset() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Engine.getEngine("PyTorch").setRandomSeed(11);
      Generator g = GeneratorDir.newGenerator(CFG, m);
      ParameterStore ps = new ParameterStore(m, false);
      // Two classes with different constant latents: the velocity is learnable.
      int b = 32;
      float[] x = new float[b * 16];
      int[] labels = new int[b];
      for (int i = 0; i < b; i++) {
        labels[i] = i % 2;
        for (int j = 0; j < 16; j++) {
          x[i * 16 + j] = (i % 2 == 0 ? 1f : -1f) * (j % 4 == 0 ? 1.5f : 0.5f);
        }
      }
      NDArray x0 = m.create(x, new Shape(b, 4, 4));
      List<NDArray> weights = new ArrayList<>();
      for (var p : g.getParameters()) {
        NDArray w = p.getValue().getArray();
        w.setRequiresGradient(true);
        weights.add(w);
      }
      float before = evalLoss(g, ps, x0, labels);
      Random rng = new Random(1);
      List<NDArray> mom = new ArrayList<>();
      List<NDArray> sq = new ArrayList<>();
      for (NDArray w : weights) {
        mom.add(m.zeros(w.getShape()));
        sq.add(m.zeros(w.getShape()));
      }
      for (int step = 1; step <= 40; step++) {
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
          gc.backward(FlowMatching.loss(g, ps, x0, labels, rng, 0.1f, true));
        }
        for (int i = 0; i < weights.size(); i++) { // plain Adam, lr 1e-2
          NDArray w = weights.get(i);
          NDArray gr = w.getGradient();
          mom.get(i).muli(0.9f).addi(gr.mul(0.1f));
          sq.get(i).muli(0.999f).addi(gr.square().mul(0.001f));
          float bc1 = (float) (1 - Math.pow(0.9, step));
          float bc2 = (float) (1 - Math.pow(0.999, step));
          w.subi(mom.get(i).div(bc1).div(sq.get(i).div(bc2).sqrt().add(1e-8f)).mul(1e-2f));
          gr.subi(gr);
        }
      }
      float after = evalLoss(g, ps, x0, labels);
      assertThat(before).isGreaterThan(1.0f); // |eps - x|^2 with a zero prediction
      assertThat(after).isLessThan(before * 0.7f);
    }
  }

  private static float evalLoss(Generator g, ParameterStore ps, NDArray x0, int[] labels) {
    return FlowMatching.loss(g, ps, x0, labels, new Random(123), 0f, false).getFloat();
  }

  @Test
  void samplingIsReproducibleWithASeedForEveryMethod() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = randomised(m, 4);
      Sampler s = new Sampler(g, new ParameterStore(m, false));
      int[] labels = {0, 3, 9};
      long[] seeds = {Sampler.imageSeed(42, 0), Sampler.imageSeed(42, 1), Sampler.imageSeed(42, 2)};
      for (Sampler.Method method : Sampler.Method.values()) {
        Sampler.Settings set = new Sampler.Settings(method, 6, 3f, 0.1f, 0.8f);
        float[] a = s.sample(m, labels, seeds, set);
        float[] b = s.sample(m, labels, seeds, set);
        assertThat(a).hasSize(3 * 16).containsExactly(b);
        float[] other = s.sample(m, labels, new long[] {7, 8, 9}, set);
        assertThat(other).isNotEqualTo(a);
        for (float f : a) {
          assertThat(Float.isFinite(f)).isTrue();
        }
        // An image depends on its own seed only, not on its batch mates.
        float[] alone = s.sample(m, new int[] {3}, new long[] {seeds[1]}, set);
        for (int j = 0; j < 16; j++) {
          assertThat(alone[j]).isCloseTo(a[16 + j], within(1e-4f));
        }
      }
    }
  }

  @Test
  void guidanceScaleOneIsTheConditionalVelocityAndZeroTheUnconditional() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = randomised(m, 5);
      ParameterStore ps = new ParameterStore(m, false);
      Sampler s = new Sampler(g, ps);
      float[] x = randn(2 * 16, 9);
      NDArray xa = m.create(x, new Shape(2, 4, 4));
      float[] cond = forward(g, ps, m, x, 0.4f, new float[] {2, 7}).toFloatArray();
      float[] uncond = forward(g, ps, m, x, 0.4f, new float[] {10, 10}).toFloatArray();
      assertThat(cond).isNotEqualTo(uncond);
      assertThat(s.velocity(xa, 0.4f, new int[] {2, 7}, 1f, true).toFloatArray())
          .containsExactly(cond);
      assertThat(s.velocity(xa, 0.4f, new int[] {2, 7}, 4f, false).toFloatArray())
          .containsExactly(cond);
      float[] zero = s.velocity(xa, 0.4f, new int[] {2, 7}, 0f, true).toFloatArray();
      float[] three = s.velocity(xa, 0.4f, new int[] {2, 7}, 3f, true).toFloatArray();
      for (int i = 0; i < cond.length; i++) {
        assertThat(zero[i]).isCloseTo(uncond[i], within(1e-5f));
        assertThat(three[i]).isCloseTo(uncond[i] + 3 * (cond[i] - uncond[i]), within(1e-4f));
      }
    }
  }

  @Test
  void samplesAreDenormalisedWithTheStoredLatentStatistics() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      // A fresh network predicts zero velocity, so every ODE sample is its starting noise.
      GeneratorConfig cfg = CFG.withLatentStats(3f, 0.5f);
      Generator g = new Generator(cfg);
      g.initialize(
          m, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(1, 4, 4), new Shape(1), new Shape(1));
      g.zeroInit();
      float[] out =
          new Sampler(g, new ParameterStore(m, false))
              .sample(
                  m,
                  new int[] {1},
                  new long[] {77},
                  Sampler.Settings.of(Sampler.Method.HEUN, 3, 2f));
      Random r = new Random(77);
      for (float f : out) {
        assertThat(f).isCloseTo((float) r.nextGaussian() * 0.5f + 3f, within(1e-5f));
      }
    }
  }

  @Test
  void settingsAndGridAreChecked() {
    assertThatThrownBy(() -> Sampler.Settings.of(Sampler.Method.EULER, 0, 1f))
        .hasMessageContaining("steps");
    assertThatThrownBy(() -> new Sampler.Settings(Sampler.Method.EULER, 5, 1f, 0.8f, 0.2f))
        .hasMessageContaining("interval");
    assertThatThrownBy(() -> Sampler.Method.parse("ddim"))
        .hasMessageContaining("euler, heun or sde");
    assertThat(Sampler.grid(Sampler.Settings.of(Sampler.Method.EULER, 4, 1f)))
        .containsExactly(1f, 0.75f, 0.5f, 0.25f, 0f);
    float[] sde = Sampler.grid(Sampler.Settings.of(Sampler.Method.SDE, 3, 1f));
    assertThat(sde[0]).isEqualTo(1f);
    assertThat(sde[2]).isCloseTo(0.04f, within(1e-6f));
    assertThat(sde[3]).isEqualTo(0f);
    assertThatThrownBy(() -> new GeneratorConfig(4, 4, 15, 1, 2, 2, 10, 0, 1))
        .hasMessageContaining("heads");
  }
}
