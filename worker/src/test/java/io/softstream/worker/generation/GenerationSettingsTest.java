package io.softstream.worker.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.generator.Sampler;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class GenerationSettingsTest {
  static Map<String, Object> props(Object... kv) {
    Map<String, Object> m = new HashMap<>();
    m.put(GenerationSettings.GENERATOR_DIR, "models/gen");
    m.put("bootstrap.servers", "ignored:9092"); // the worker's own keys sit beside these
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void defaultsAndValuesAsStringsOrTyped() {
    GenerationSettings s = GenerationSettings.from(props());
    assertThat(s.generatorDir()).isEqualTo(Path.of("models/gen"));
    assertThat(s.generatorName()).isEmpty();
    assertThat(s.generatorVersion()).isEqualTo(1);
    assertThat(s.watch()).isFalse();
    assertThat(s.maxCount()).isEqualTo(64);
    assertThat(s.method()).isEqualTo(Sampler.Method.EULER);
    assertThat(s.guidanceLow()).isZero();
    assertThat(s.guidanceHigh()).isEqualTo(1f);
    assertThat(s.maxBatchImages()).isEqualTo(256);
    assertThat(s.continuousBatching()).isTrue();
    assertThat(s.inputTopic("t1-generation-requests")).isEqualTo("t1-generation-requests");
    assertThat(
            GenerationSettings.from(props(GenerationSettings.INPUT_TOPIC, " t1-generation-jobs "))
                .inputTopic("t1-generation-requests"))
        .isEqualTo("t1-generation-jobs");

    GenerationSettings t =
        GenerationSettings.from(
            props(
                GenerationSettings.MAX_COUNT,
                "8",
                GenerationSettings.SAMPLER,
                "Heun",
                GenerationSettings.GUIDANCE_LOW,
                0.2,
                GenerationSettings.GUIDANCE_HIGH,
                "0.8",
                GenerationSettings.GENERATOR_VERSION,
                3,
                GenerationSettings.CONTINUOUS_BATCHING,
                "false"));
    assertThat(t.maxCount()).isEqualTo(8);
    assertThat(t.method()).isEqualTo(Sampler.Method.HEUN);
    assertThat(t.sampler(10, 4f))
        .isEqualTo(new Sampler.Settings(Sampler.Method.HEUN, 10, 4f, 0.2f, 0.8f));
    assertThat(t.generatorVersion()).isEqualTo(3);
    assertThat(t.continuousBatching()).isFalse();
  }

  @Test
  void badValuesStopAtStartUpNamingTheKeyAndTheRule() {
    assertThatThrownBy(() -> GenerationSettings.from(props(GenerationSettings.MAX_COUNT, 0)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generation.max.count")
        .hasMessageContaining("at least 1");
    assertThatThrownBy(() -> GenerationSettings.from(props(GenerationSettings.SAMPLER, "rk4")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generation.sampler")
        .hasMessageContaining("EULER");
    assertThatThrownBy(() -> GenerationSettings.from(props(GenerationSettings.GUIDANCE_HIGH, 1.5)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generation.guidance.high");
    assertThatThrownBy(
            () ->
                GenerationSettings.from(
                    props(
                        GenerationSettings.GUIDANCE_LOW,
                        0.9,
                        GenerationSettings.GUIDANCE_HIGH,
                        0.1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generation.guidance.low")
        .hasMessageContaining("must not exceed");
    assertThatThrownBy(
            () -> GenerationSettings.from(props(GenerationSettings.GENERATOR_VERSION, "one")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generator.version");
    assertThatThrownBy(() -> GenerationSettings.from(props(GenerationSettings.GENERATOR_DIR, "")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generator.dir")
        .hasMessageContaining("generator.watch");
    assertThatThrownBy(
            () -> GenerationSettings.from(props(GenerationSettings.GENERATOR_WATCH, true)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("generator.name");
    assertThat(
            GenerationSettings.from(
                    props(
                        GenerationSettings.GENERATOR_DIR,
                        "",
                        GenerationSettings.GENERATOR_WATCH,
                        "true",
                        GenerationSettings.GENERATOR_NAME,
                        "gen"))
                .generatorDir())
        .isNull();
  }
}
