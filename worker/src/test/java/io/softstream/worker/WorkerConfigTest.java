package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.image.ImageTranslator.Resize;
import io.softstream.worker.generation.GenerationSettings;
import java.nio.file.Path;
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

  static WorkerConfig config(Path model, String resize) {
    Map<String, Object> p = new HashMap<>();
    p.put(WorkerConfig.BOOTSTRAP_SERVERS, "localhost:9092");
    p.put(WorkerConfig.SCHEMA_REGISTRY_URL, "mock://resize");
    p.put(WorkerConfig.MODEL_DIR, model.toString());
    if (resize != null) {
      p.put(WorkerConfig.IMAGE_RESIZE, resize);
    }
    return new WorkerConfig(p);
  }

  @Test
  void theCardsResizePolicyAppliesUnlessTheWorkerSetsOne() throws Exception {
    Path photo = Path.of("..", "models", "softvq-photo-64"); // tests run in worker/
    Path fmnist = Path.of("..", "models", "softvq-fmnist-32-next");
    ModelCard photoCard = ModelDir.readCard(photo);
    assertThat(photoCard.resize()).isEqualTo(Resize.CROP);
    assertThat(ModelDir.readCard(fmnist).resize()).isEqualTo(Resize.FIT);
    assertThat(config(photo, null).resize(photoCard)).isEqualTo(Resize.CROP);
    assertThat(config(photo, "pad").resize(photoCard)).isEqualTo(Resize.PAD);
    assertThat(config(photo, null).resize(null)).isEqualTo(Resize.FIT);

    // A 40x30 photo sent to the photo model: scaled up from its centre square (crop), where fit
    // would centre it unscaled on black (a 12-pixel black margin on the left).
    byte[] small = TestImages.random(40, 30, "png", 3);
    ImageTranslator byCard =
        config(photo, null).imageTranslator(photoCard.tokenizerConfig(), photoCard);
    ImageTranslator fit =
        config(photo, "fit").imageTranslator(photoCard.tokenizerConfig(), photoCard);
    float[] a = new float[byCard.floatsPerImage()], b = new float[fit.floatsPerImage()];
    byCard.decodeInto(small, "image/png", a, 0);
    fit.decodeInto(small, "image/png", b, 0);
    int blackCornerByCard = 0, blackCornerFit = 0;
    for (int y = 0; y < 64; y++) {
      for (int x = 0; x < 12; x++) {
        blackCornerByCard += a[y * 64 + x] == -1f ? 1 : 0;
        blackCornerFit += b[y * 64 + x] == -1f ? 1 : 0;
      }
    }
    assertThat(blackCornerFit).isEqualTo(64 * 12);
    assertThat(blackCornerByCard).isLessThan(10);

    assertThatThrownBy(() -> photoCard.withImageResize("stretch"))
        .hasMessageContaining("image_resize 'stretch' in model.json is not one of fit, crop, pad");
  }
}
