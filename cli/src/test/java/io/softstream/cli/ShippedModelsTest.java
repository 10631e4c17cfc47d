package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The default tokenizer is the strongest shipped at its size; the demo still has one to swap to.
 */
class ShippedModelsTest {
  @Test
  void theDefaultFashionMnistTokenizerIsTheStrongestAt32Tokens() throws Exception {
    // Surefire runs in cli/; the models are one folder up (the launcher sets this property).
    String before = System.getProperty("softstream.root");
    System.setProperty("softstream.root", Path.of("..").toAbsolutePath().normalize().toString());
    try {
      check();
    } finally {
      if (before == null) {
        System.clearProperty("softstream.root");
      } else {
        System.setProperty("softstream.root", before);
      }
    }
  }

  private static void check() throws Exception {
    ModelCard def = ModelDir.readCard(ShippedModels.fashionMnist());
    double best = psnr(def);
    try (Stream<Path> models = Files.list(ShippedModels.root().resolve("models"))) {
      for (Path m :
          models.filter(p -> p.getFileName().toString().startsWith("softvq-fmnist")).toList()) {
        ModelCard c = ModelDir.readCard(m);
        if (c.tokenizerConfig().tokens() == def.tokenizerConfig().tokens()) {
          assertThat(psnr(c)).as(m.toString()).isLessThanOrEqualTo(best);
        }
      }
    }
    // The demo starts on the first run and swaps to the default, a newer, stronger version.
    assertThat(ShippedModels.fashionMnistFirst()).isNotEqualTo(ShippedModels.fashionMnist());
    assertThat(psnr(ModelDir.readCard(ShippedModels.fashionMnistFirst()))).isLessThan(best);
  }

  private static double psnr(ModelCard c) {
    return ((Number) c.metrics().get("psnr")).doubleValue();
  }
}
