package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.trainer.TrainConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a training run writes, and what it is called: never over a model it did not start from. */
class TrainCommandTest {
  @TempDir Path dir;
  final TrainConfig defaults = TrainConfig.defaults();

  @Test
  void withoutOutputDirARunNeverWritesIntoTheShippedModel() {
    Map<String, String> o = TrainCommand.outputAndName(defaults, Map.of("steps", "5"), false);
    assertThat(o.get("output_dir"))
        .startsWith("models/tokenizer-")
        .isNotEqualTo(defaults.outputDir());
    assertThat(o.get("name")).isEqualTo(o.get("output_dir").substring("models/".length()));
    assertThat(TrainCommand.outputAndName(defaults, Map.of("name", "mine"), false))
        .containsEntry("output_dir", "models/mine")
        .containsEntry("name", "mine");
  }

  @Test
  void theCardIsNamedAfterTheRunNotTheDefault() {
    assertThat(TrainCommand.outputAndName(defaults, Map.of("output_dir", "out/my-tok"), false))
        .containsEntry("name", "my-tok");
    assertThat(
            TrainCommand.outputAndName(
                defaults, Map.of("output_dir", "out/my-tok", "name", "given"), false))
        .containsEntry("name", "given");
  }

  @Test
  void anExistingModelIsReplacedOnlyWhenAskedAndLosesItsStaleOnnxFiles() throws Exception {
    Path model = Files.createDirectories(dir.resolve("m"));
    Files.writeString(model.resolve("model.json"), "{}");
    Files.writeString(model.resolve("encoder.onnx"), "old");
    TrainConfig cfg = defaults.withOverrides(Map.of("output_dir", model.toString()));
    PrintWriter out = new PrintWriter(new StringWriter());
    assertThatThrownBy(() -> TrainCommand.guardOutput(cfg, false, out))
        .hasMessageContaining(model + " already holds a model")
        .hasMessageContaining("--overwrite");
    assertThat(model.resolve("encoder.onnx")).exists();
    TrainCommand.guardOutput(cfg, true, out);
    assertThat(model.resolve("encoder.onnx")).doesNotExist();
    // Fine-tuning a model in place is starting from it.
    Files.writeString(model.resolve("encoder.onnx"), "old");
    TrainCommand.guardOutput(cfg.withOverrides(Map.of("init_from", model.toString())), false, out);
    assertThat(model.resolve("encoder.onnx")).doesNotExist();
  }
}
