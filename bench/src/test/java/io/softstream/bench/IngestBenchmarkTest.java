package io.softstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest benchmark end to end on a tiny count (embedded broker, the gate, an encode worker on a
 * tiny random tokenizer): it completes and returns the documented figures. Timings are only checked
 * to be there, never compared.
 */
class IngestBenchmarkTest {
  @TempDir Path dir;

  @Test
  void runsEndToEndAndReturnsTheDocumentedFigures() throws Exception {
    Path tokenizer = dir.resolve("tok");
    TokenizerConfig tc = TokenizerConfig.tiny("softvq");
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      ModelDir.saveTokenizer(
          tokenizer,
          ModelCard.tokenizer("tiny-tok", tc, Map.of("steps", 0), Map.of()),
          ModelDir.newEncoder(tc, m),
          ModelDir.newDecoder(tc, m));
    }
    StringWriter progress = new StringWriter();
    Map<String, Object> r =
        new IngestBenchmark(
                new IngestBenchmark.Settings(
                    tokenizer, EngineKind.PYTORCH, 1, 30, 8, dir.resolve("work")),
                new PrintWriter(progress))
            .run();
    System.out.print(progress);

    JsonNode json = ModelCard.JSON.readTree(ModelCard.JSON.writeValueAsString(r));
    assertThat(json.fieldNames())
        .toIterable()
        .containsExactly(
            "images",
            "gate_events_per_pass",
            "cores",
            "worker",
            "model",
            "gate_new_events_per_s",
            "gate_new_forwarded",
            "gate_new_cache_hits",
            "gate_hit_events_per_s",
            "gate_hit_cache_hits",
            "gate_hit_forwarded",
            "hit_latency_paced_events_per_s",
            "hit_latency_samples",
            "hit_latency_p50_ms",
            "hit_latency_p99_ms",
            "hit_visible_p50_ms",
            "hit_visible_p99_ms",
            "worker_images_per_s",
            "gate_new_vs_worker",
            "gate_hit_vs_worker",
            "gate_vs_worker");
    assertThat(json.get("model").asText()).startsWith("tiny-tok:");
    // Every picture of each pass came out once: new ones forwarded, repeated ones from the cache.
    assertThat(json.get("gate_new_forwarded").asInt() + json.get("gate_new_cache_hits").asInt())
        .isEqualTo(300);
    assertThat(json.get("gate_hit_cache_hits").asInt()).isEqualTo(300);
    assertThat(json.get("gate_hit_forwarded").asInt()).isZero();
    assertThat(json.get("hit_latency_samples").asInt()).isEqualTo(30);
    assertThat(json.get("worker").get("images").asInt()).isEqualTo(30);
    assertThat(json.get("worker_images_per_s").asDouble()).isPositive();
    assertThat(json.get("gate_vs_worker").isNumber()).isTrue();
    assertThat(progress.toString()).contains("gate / encode worker:");
  }
}
