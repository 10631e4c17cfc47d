package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.worker.generation.GenerationSettings;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {
  @Test
  void onlyKafkaClientSettingsReachTheClients() {
    Map<String, Object> p = new HashMap<>();
    p.put(WorkerConfig.BOOTSTRAP_SERVERS, "localhost:9092");
    p.put(WorkerConfig.SCHEMA_REGISTRY_URL, "http://localhost:8081");
    p.put(WorkerConfig.MODEL_DIR, "/models/tok");
    p.put(GenerationSettings.GENERATOR_DIR, "/models/gen");
    p.put(GenerationSettings.GENERATOR_WATCH, "true");
    p.put(GenerationSettings.MAX_COUNT, "8");
    p.put(GenerationSettings.SAMPLER, "heun");
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", "PLAIN");
    p.put("consumer.fetch.min.bytes", "2");
    p.put("producer.compression.type", "zstd");
    WorkerConfig c = new WorkerConfig(p);

    for (Map<String, Object> client :
        java.util.List.of(
            c.consumerConfig("generate"), c.producerConfig("generate"), c.clientConfig())) {
      assertThat(client.keySet())
          .noneMatch(k -> k.startsWith("generator.") || k.startsWith("generation."))
          .doesNotContain(WorkerConfig.MODEL_DIR);
      assertThat(client)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("sasl.mechanism", "PLAIN");
    }
    assertThat(c.consumerConfig("generate"))
        .containsEntry("fetch.min.bytes", "2")
        .doesNotContainKey("compression.type");
    assertThat(c.producerConfig("generate"))
        .containsEntry("compression.type", "zstd")
        .doesNotContainKey("fetch.min.bytes");
  }
}
