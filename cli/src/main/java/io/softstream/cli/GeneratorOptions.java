package io.softstream.cli;

import ai.djl.MalformedModelException;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.Sampler;
import io.softstream.worker.generation.GenerationSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Options shared by the commands that run a generator ({@code generate}, {@code generate-worker}): which
 * generator, and how it integrates (method and the t interval where guidance applies). The tokenizer whose
 * decoder turns tokens into pixels is {@code --model} of each command, by default the one the generator was
 * trained on ({@link #defaultTokenizer()}).
 */
public final class GeneratorOptions {
  /** The shipped generator: 16 tokens of softvq-fmnist-16 (3.2x faster than the 2-D baseline, see its card). */
  static final String SHIPPED = "gen-fmnist-16";

  @Option(names = "--generator", paramLabel = "DIR", defaultValue = "${env:SOFTSTREAM_GENERATOR:-}",
      description = "Generator directory (env SOFTSTREAM_GENERATOR; default: the shipped models/" + GeneratorOptions.SHIPPED
          + ").")
  String generator;

  @Option(names = "--sampler", defaultValue = "euler", description = "euler|heun|sde (default: ${DEFAULT-VALUE}).")
  String sampler;

  @Option(names = "--guidance-low", defaultValue = "0", description = "Guidance applies for t >= this (default: ${DEFAULT-VALUE}).")
  float guidanceLow;

  @Option(names = "--guidance-high", defaultValue = "1", description = "Guidance applies for t <= this (default: ${DEFAULT-VALUE}).")
  float guidanceHigh;

  /** {@code --generator}, or the shipped generator. */
  Path generatorDir() {
    return generator == null || generator.isBlank() ? ShippedModels.model(SHIPPED) : Path.of(generator);
  }

  /**
   * The tokenizer whose decoder turns this generator's tokens into pixels when no {@code --model} is given:
   * the one named in the generator's card ({@code training.tokenizer}) among the shipped models, else the
   * shipped Fashion-MNIST tokenizer.
   */
  Path defaultTokenizer() throws MalformedModelException {
    Path named = trainedOn(generatorDir());
    return named != null ? named : ShippedModels.fashionMnist();
  }

  /** The shipped tokenizer named in {@code generator}'s card ({@code training.tokenizer}), or null. */
  static Path trainedOn(Path generator) throws MalformedModelException {
    Map<String, Object> training = GeneratorDir.readCard(generator).training();
    Object name = training == null ? null : training.get("tokenizer");
    if (name instanceof String n && !n.isBlank() && Files.isDirectory(ShippedModels.root().resolve("models").resolve(n))) {
      return ShippedModels.model(n);
    }
    return null;
  }

  /**
   * Sampler settings for {@code steps} and {@code guidance} with this method and interval.
   *
   * @throws IllegalArgumentException naming the bad value
   */
  Sampler.Settings settings(int steps, float guidance) {
    return new Sampler.Settings(Sampler.Method.parse(sampler), steps, guidance, guidanceLow, guidanceHigh);
  }

  /** The generation worker's keys ({@link GenerationSettings}) for these options. */
  void putInto(Map<String, Object> config) {
    config.put(GenerationSettings.GENERATOR_DIR, generatorDir().toString());
    config.put(GenerationSettings.SAMPLER, sampler);
    config.put(GenerationSettings.GUIDANCE_LOW, (double) guidanceLow);
    config.put(GenerationSettings.GUIDANCE_HIGH, (double) guidanceHigh);
  }
}
