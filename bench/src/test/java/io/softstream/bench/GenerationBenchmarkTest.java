package io.softstream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.PixelPatches;
import io.softstream.model.generator.Sampler;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generation benchmark on tiny models (a tiny tokenizer, a tiny 1-D generator over its 4 x 4
 * tokens and a tiny 2-D generator over the 2x2 pixel patches of its 8x8 images): the figures it
 * returns and records are complete and consistent with each other. Timings are only checked to be
 * positive, never compared.
 */
class GenerationBenchmarkTest {
  @TempDir static Path dir;
  static Path tokenizer;
  static Path gen1d;
  static Path gen2d;

  @BeforeAll
  static void tinyModels() throws Exception {
    Engine.getEngine("PyTorch").setRandomSeed(5);
    tokenizer = dir.resolve("tok");
    gen1d = dir.resolve("gen1d");
    gen2d = dir.resolve("gen2d");
    TokenizerConfig tc = TokenizerConfig.tiny("softvq");
    PixelPatches pp = new PixelPatches(tc.imageSize(), 2, tc.channels());
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      ModelDir.saveTokenizer(
          tokenizer,
          ModelCard.tokenizer("tiny-tok", tc, Map.of("steps", 0), Map.of()),
          ModelDir.newEncoder(tc, m),
          ModelDir.newDecoder(tc, m));
      GeneratorConfig c1 = GeneratorConfig.tiny().withLatentStats(0.1f, 0.5f);
      GeneratorDir.save(
          gen1d,
          GeneratorDir.card(
              "tiny-1d",
              c1,
              Map.of("steps", 7, "batch_size", 16, "parameters", 123),
              Map.of(
                  "class_consistency",
                  0.5,
                  "frechet_generated",
                  3.0,
                  "steps",
                  50,
                  "guidance_scale",
                  4.0)),
          GeneratorDir.newGenerator(c1, m));
      GeneratorConfig c2 =
          new GeneratorConfig(
              pp.tokens(), pp.codeDim(), 16, 1, 2, 2, 10, 0f, 1f, GeneratorConfig.POS_2D);
      GeneratorDir.save(
          gen2d,
          GeneratorDir.card(
              "tiny-2d",
              c2,
              Map.of("latent", pp.toCard(), "steps", 7),
              Map.of("class_consistency", 0.25, "frechet_generated", 2.0)),
          GeneratorDir.newGenerator(c2, m));
    }
  }

  static GenerationBenchmark.Settings settings(boolean record) {
    return new GenerationBenchmark.Settings(
        gen1d, tokenizer, gen2d, 4, List.of(3, 2), 2f, Sampler.Method.EULER, 2, record);
  }

  @Test
  void measuresBothModelsAtEveryStepCountAndRecordsTheSpeedUp() throws Exception {
    StringWriter progress = new StringWriter();
    Map<String, Object> r =
        new GenerationBenchmark(settings(true), new PrintWriter(progress)).run();

    // One JSON object with the documented keys.
    JsonNode json = ModelCard.JSON.readTree(ModelCard.JSON.writeValueAsString(r));
    assertThat(json.fieldNames())
        .toIterable()
        .containsExactly(
            "cores",
            "torch_threads",
            "batch",
            "sampler",
            "guidance_scale",
            "speed",
            "speedup_1d_vs_2d",
            "speedup_at_steps",
            "generator_1d",
            "generator_2d",
            "goal",
            "goal_met");
    assertThat(json.get("cores").asInt()).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(json.get("batch").asInt()).isEqualTo(4);
    assertThat(json.get("sampler").asText()).isEqualTo("euler");
    assertThat(json.get("guidance_scale").asDouble()).isEqualTo(2.0);
    assertThat(json.get("speedup_at_steps").asInt()).isEqualTo(3);

    JsonNode rows = json.get("speed");
    assertThat(rows).hasSize(2);
    assertThat(rows.get(0).get("steps").asInt()).isEqualTo(3);
    assertThat(rows.get(1).get("steps").asInt()).isEqualTo(2);
    for (JsonNode row : rows) {
      assertThat(row.fieldNames())
          .toIterable()
          .containsExactly(
              "steps",
              "latency_ms_1d",
              "sampling_ms_1d",
              "images_per_s_1d",
              "latency_ms_2d",
              "sampling_ms_2d",
              "images_per_s_2d",
              "speedup_1d_vs_2d");
      double l1 = row.get("latency_ms_1d").asDouble();
      double l2 = row.get("latency_ms_2d").asDouble();
      assertThat(l1).isPositive();
      assertThat(l2).isPositive();
      assertThat(row.get("sampling_ms_1d").asDouble()).isPositive().isLessThanOrEqualTo(l1 + 0.1);
      assertThat(row.get("sampling_ms_2d").asDouble()).isPositive().isLessThanOrEqualTo(l2 + 0.1);
      // Rates and the ratio are derived from the latencies (rounded to 0.1 ms / 0.01).
      assertThat(row.get("images_per_s_1d").asDouble())
          .isPositive()
          .isCloseTo(4 * 1000 / l1, within(0.02 * 4000 / l1 + 0.01));
      assertThat(row.get("images_per_s_2d").asDouble())
          .isPositive()
          .isCloseTo(4 * 1000 / l2, within(0.02 * 4000 / l2 + 0.01));
      assertThat(row.get("speedup_1d_vs_2d").asDouble())
          .isPositive()
          .isCloseTo(l2 / l1, within(0.02 * l2 / l1 + 0.01));
    }
    double speedup = json.get("speedup_1d_vs_2d").asDouble();
    assertThat(speedup).isEqualTo(rows.get(0).get("speedup_1d_vs_2d").asDouble());

    // The models are described from their cards, quality figures copied for the side-by-side table.
    JsonNode g1 = json.get("generator_1d");
    assertThat(g1.get("name").asText()).isEqualTo("tiny-1d");
    assertThat(g1.get("latent").asText())
        .isEqualTo("tokens 4x4 of tiny-tok, decoded by its decoder");
    assertThat(g1.get("pos_embed").asText()).isEqualTo("1d");
    assertThat(g1.get("hidden").asInt()).isEqualTo(16);
    assertThat(g1.get("depth").asInt()).isEqualTo(1);
    assertThat(g1.get("training_steps").asInt()).isEqualTo(7);
    assertThat(g1.get("training_batch_size").asInt()).isEqualTo(16);
    assertThat(g1.get("training_parameters").asInt()).isEqualTo(123);
    assertThat(g1.get("class_consistency").asDouble()).isEqualTo(0.5);
    assertThat(g1.get("frechet_generated").asDouble()).isEqualTo(3.0);
    assertThat(g1.get("quality_steps").asInt()).isEqualTo(50);
    assertThat(g1.get("quality_guidance_scale").asDouble()).isEqualTo(4.0);
    JsonNode g2 = json.get("generator_2d");
    assertThat(g2.get("name").asText()).isEqualTo("tiny-2d");
    assertThat(g2.get("latent").asText()).isEqualTo("pixel patches 2x2 (16x4), un-patchified");
    assertThat(g2.get("pos_embed").asText()).isEqualTo("2d");
    assertThat(g2.get("class_consistency").asDouble()).isEqualTo(0.25);
    // 1-D Frechet 3.0 > 2-D 2.0: the goal cannot be met whatever the speed.
    assertThat(json.get("goal_met").asBoolean()).isFalse();

    // record=true: the 1-D card gets the headline speed-up and the table, the 2-D card the table
    // only.
    Map<String, Object> m1 = GeneratorDir.readCard(gen1d).metrics();
    assertThat(((Number) m1.get("speedup_1d_vs_2d")).doubleValue()).isEqualTo(speedup);
    assertThat((List<?>) m1.get("speed_benchmark")).hasSize(2);
    assertThat(m1.get("class_consistency")).isEqualTo(0.5);
    Map<String, Object> m2 = GeneratorDir.readCard(gen2d).metrics();
    assertThat(m2).doesNotContainKey("speedup_1d_vs_2d");
    assertThat((List<?>) m2.get("speed_benchmark")).hasSize(2);

    String text = progress.toString();
    assertThat(text)
        .contains(
            "1-D tiny-1d, 3 steps: batch of 4 in",
            "1-D tiny-1d, 2 steps: batch of 4 in",
            "2-D tiny-2d, 3 steps: batch of 4 in",
            "2-D tiny-2d, 2 steps: batch of 4 in",
            "speed-up of 1-D tokens over 2-D pixel patches at 3 steps",
            "recorded speedup_1d_vs_2d");
  }

  @Test
  void refusesSwappedModelsAndEmptySettings() {
    var swapped =
        new GenerationBenchmark.Settings(
            gen2d, tokenizer, gen1d, 2, List.of(1), 1f, Sampler.Method.EULER, 1, false);
    assertThatThrownBy(
            () -> new GenerationBenchmark(swapped, new PrintWriter(new StringWriter())).run())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a pixel-patch generator");
    assertThatThrownBy(
            () ->
                new GenerationBenchmark.Settings(
                    gen1d, tokenizer, gen2d, 0, List.of(1), 1f, Sampler.Method.EULER, 1, false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                new GenerationBenchmark.Settings(
                    gen1d, tokenizer, gen2d, 2, List.of(), 1f, Sampler.Method.EULER, 1, false))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
