package io.softstream.worker.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.Sampler;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.worker.TestImages;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching on a tiny generator and tokenizer: requests sampled together (and one that
 * joins mid-way) get the pixels they get alone, and their tokens to float rounding; the forward
 * passes show who shared them.
 */
class ContinuousBatchingTest {
  @TempDir static Path dir;
  static GeneratorRuntime generator;
  static TokenizerRuntime decoder;

  @BeforeAll
  static void tinyModels() throws Exception {
    generator = GeneratorRuntime.open(TestImages.tinyGenerator(dir.resolve("gen")));
    decoder =
        TokenizerRuntimes.open(
            TestImages.tinyModel(dir.resolve("tok"), TokenizerConfig.tiny("softvq"), "tok"),
            EngineKind.PYTORCH,
            TokenizerRuntimes.Part.DECODER);
  }

  @AfterAll
  static void close() {
    decoder.close();
    generator.close();
  }

  record Request(int label, long seed, int count, Sampler.Settings settings) {
    int[] labels() {
      int[] l = new int[count];
      Arrays.fill(l, label);
      return l;
    }

    long[] seeds() {
      long[] s = new long[count];
      for (int i = 0; i < count; i++) {
        s[i] = Sampler.imageSeed(seed, i);
      }
      return s;
    }
  }

  static final Request A = new Request(2, 11, 3, Sampler.Settings.of(Sampler.Method.EULER, 6, 3f));
  static final Request B = new Request(5, 12, 5, Sampler.Settings.of(Sampler.Method.EULER, 10, 1f));
  static final Request C =
      new Request(7, 13, 2, new Sampler.Settings(Sampler.Method.EULER, 8, 4f, 0.2f, 0.7f));
  static final Request D = new Request(9, 14, 4, Sampler.Settings.of(Sampler.Method.EULER, 5, 2f));

  /** Samples requests on a fresh sampler; {@code afterPass} sees each pass's row count. */
  static List<ContinuousBatching.Result> run(
      boolean continuous,
      List<Request> first,
      Request late,
      int lateAfterPass,
      List<Integer> passes)
      throws Exception {
    CountDownLatch submitted = new CountDownLatch(1);
    List<CompletableFuture<ContinuousBatching.Result>> made = new CopyOnWriteArrayList<>();
    ContinuousBatching[] self = new ContinuousBatching[1];
    Consumer<Integer> stepped =
        rows -> {
          passes.add(rows);
          if (late != null && passes.size() == lateAfterPass) {
            made.add(self[0].submit(late.labels(), late.seeds(), late.settings()));
          }
        };
    try (ContinuousBatching b =
        new ContinuousBatching(
            "test-sampler",
            64,
            continuous,
            () -> {
              try {
                submitted.await(); // the first requests are all queued before any is admitted
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
              return new ContinuousBatching.Serving(generator, "gen:1", decoder, "tok:1");
            },
            () -> false,
            stepped)) {
      self[0] = b;
      for (Request r : first) {
        made.add(b.submit(r.labels(), r.seeds(), r.settings()));
      }
      submitted.countDown();
      List<ContinuousBatching.Result> out = new ArrayList<>();
      for (int i = 0; i < first.size() + (late != null ? 1 : 0); i++) {
        while (made.size() <= i) {
          Thread.onSpinWait();
        }
        out.add(made.get(i).get(60, TimeUnit.SECONDS));
      }
      return out;
    }
  }

  static ContinuousBatching.Result alone(Request r) throws Exception {
    return run(true, List.of(r), null, 0, new ArrayList<>()).get(0);
  }

  static void assertSame(ContinuousBatching.Result batched, ContinuousBatching.Result alone) {
    assertThat(batched.images()).hasSameSizeAs(alone.images());
    for (int i = 0; i < alone.images().size(); i++) {
      // The engine's matrix products sum in an order that depends on the batch's size: tokens agree
      // to float rounding (~1e-7 measured), the 8-bit pixels exactly.
      assertThat(batched.images().get(i).tokens())
          .as("tokens of image %d", i)
          .containsExactly(alone.images().get(i).tokens(), within(1e-5f));
      assertThat(pixels(batched.images().get(i).image()))
          .as("pixels of image %d", i)
          .containsExactly(pixels(alone.images().get(i).image()));
    }
  }

  static int[] pixels(BufferedImage im) {
    return im.getRGB(0, 0, im.getWidth(), im.getHeight(), null, 0, im.getWidth());
  }

  @Test
  void aRequestGetsTheSameImagesAloneAndInABatchJoinedMidWay() throws Exception {
    List<Integer> passes = new CopyOnWriteArrayList<>();
    List<ContinuousBatching.Result> batched = run(true, List.of(A, B, C), D, 2, passes);

    // A, B and C (3 + 5 + 2 images) share the first two passes; D (4) joins at the third; A leaves
    // after its 6 steps, D after its 5 (pass 7), C after 8, B after 10.
    assertThat(passes).containsExactly(10, 10, 14, 14, 14, 14, 11, 7, 5, 5);
    Request[] order = {A, B, C, D};
    for (int i = 0; i < order.length; i++) {
      assertThat(batched.get(i).images()).hasSize(order[i].count());
      assertThat(batched.get(i).generatorModel()).isEqualTo("gen:1");
      assertSame(batched.get(i), alone(order[i]));
    }
    // Different seeds and labels give different images.
    assertThat(batched.get(0).images().get(0).tokens())
        .isNotEqualTo(batched.get(0).images().get(1).tokens())
        .isNotEqualTo(batched.get(3).images().get(0).tokens());
  }

  @Test
  void staticBatchingAdmitsTheNextRequestsOnlyWhenTheBatchIsDone() throws Exception {
    List<Integer> passes = new CopyOnWriteArrayList<>();
    List<ContinuousBatching.Result> batched = run(false, List.of(A, B), D, 2, passes);

    // D arrives after the second pass but waits for A and B to finish (10 passes), then runs alone.
    assertThat(passes).containsExactly(8, 8, 8, 8, 8, 8, 5, 5, 5, 5, 4, 4, 4, 4, 4);
    assertSame(batched.get(2), alone(D));
  }
}
