package io.softstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ScalarsTest {
  /**
   * Three garbage collections, each followed by 300 new 0-d arrays of 1e30 (small native buffers
   * that take the place of freed ones); the caller closes them after its backward pass.
   */
  private static List<NDArray> churnNativeMemory(NDManager m) {
    List<NDArray> held = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      System.gc();
      for (int i = 0; i < 300; i++) {
        held.add(m.create(1e30f));
      }
    }
    return held;
  }

  /**
   * d/dx of sum(op(x)) for x = 0.5..., with garbage collections and freshly written small native
   * buffers between the forward and the backward pass: where the op's constant lives in memory that
   * was freed (DJL's {@code x.div(0.07f)}), its memory is reused by these buffers and the gradient
   * comes out wrong; {@link Scalars}' constants keep theirs.
   */
  private static float[] gradientUnderMemoryChurn(NDManager m, UnaryOperator<NDArray> op) {
    NDArray x = m.full(new Shape(4), 0.5f);
    x.setRequiresGradient(true);
    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
      NDArray y = op.apply(x).sum();
      List<NDArray> churn = churnNativeMemory(m);
      gc.backward(y);
      churn.forEach(NDArray::close);
    }
    return x.getGradient().toFloatArray();
  }

  @Test
  void constantsSurviveTheGarbageCollectorUntilTheBackwardPass() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      for (int i = 0; i < 20; i++) {
        for (float g : gradientUnderMemoryChurn(m, x -> Scalars.div(x, 0.07))) {
          assertThat(g).isCloseTo(1 / 0.07f, within(1e-4f));
        }
        for (float g : gradientUnderMemoryChurn(m, x -> Scalars.mul(x, 10))) {
          assertThat(g).isCloseTo(10f, within(1e-5f));
        }
        // max(x, 1e-12) passes x's gradient through where x is larger.
        for (float g : gradientUnderMemoryChurn(m, x -> Scalars.maximum(x, 1e-12))) {
          assertThat(g).isEqualTo(1f);
        }
      }
    }
  }

  /** The encoder's gradient norm for one batch, with or without churn before the backward pass. */
  private static double encoderGradientNorm(NDManager m, boolean churn) {
    TokenizerConfig cfg = TokenizerConfig.tiny("softvq");
    m.getEngine().setRandomSeed(7);
    TokenEncoder enc = ModelDir.newEncoder(cfg, m);
    TokenDecoder dec = ModelDir.newDecoder(cfg, m);
    ai.djl.training.ParameterStore ps = new ai.djl.training.ParameterStore(m, false);
    List<NDArray> weights = new ArrayList<>();
    enc.getParameters().values().forEach(p -> weights.add(p.getArray()));
    weights.forEach(w -> w.setRequiresGradient(true));
    NDArray x = m.randomUniform(-1, 1, new Shape(4, 1, 8, 8));
    try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
      ai.djl.ndarray.NDList out = enc.forward(ps, new ai.djl.ndarray.NDList(x), true);
      NDArray y = dec.forward(ps, new ai.djl.ndarray.NDList(out.get(0)), true).singletonOrThrow();
      NDArray loss = y.sub(x).square().mean().add(out.get(1));
      List<NDArray> held = churn ? churnNativeMemory(m) : List.of();
      gc.backward(loss);
      held.forEach(NDArray::close);
    }
    double sq = 0;
    for (NDArray w : weights) {
      sq += w.getGradient().square().sum().getFloat();
    }
    return Math.sqrt(sq);
  }

  @Test
  void theTokenizersGradientDoesNotDependOnTheGarbageCollector() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      double quiet = encoderGradientNorm(m, false);
      assertThat(quiet).isFinite().isPositive();
      for (int i = 0; i < 10; i++) {
        assertThat(encoderGradientNorm(m, true)).isCloseTo(quiet, within(quiet * 1e-5));
      }
    }
  }

  @Test
  void siluIsXTimesSigmoid() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      float[] y = Scalars.silu(m.create(new float[] {-2f, 0f, 3f})).toFloatArray();
      for (int i = 0; i < 3; i++) {
        double x = new double[] {-2, 0, 3}[i];
        assertThat((double) y[i]).isCloseTo(x / (1 + Math.exp(-x)), within(1e-6));
      }
    }
  }
}
