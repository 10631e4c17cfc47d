package io.softstream.cli;

import io.softstream.model.generator.Sampler;
import io.softstream.worker.generation.GenerationSettings;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Options shared by the commands that run a generator ({@code generate}, {@code generate-worker}): which
 * generator, and how it integrates (method and the t interval where guidance applies). The tokenizer whose
 * decoder turns tokens into pixels is {@code --model} of each command.
 */
public final class GeneratorOptions {
  @Option(names = "--generator", paramLabel = "DIR", defaultValue = "${env:SOFTSTREAM_GENERATOR:-}",
      description = "Generator directory (env SOFTSTREAM_GENERATOR; default: the shipped models/gen-fmnist-32).")
  String generator;

  @Option(names = "--sampler", defaultValue = "euler", description = "euler|heun|sde (default: ${DEFAULT-VALUE}).")
  String sampler;

  @Option(names = "--guidance-low", defaultValue = "0", description = "Guidance applies for t >= this (default: ${DEFAULT-VALUE}).")
  float guidanceLow;

  @Option(names = "--guidance-high", defaultValue = "1", description = "Guidance applies for t <= this (default: ${DEFAULT-VALUE}).")
  float guidanceHigh;

  /** {@code --generator}, or the shipped generator. */
  Path generatorDir() {
    return generator == null || generator.isBlank() ? ShippedModels.model("gen-fmnist-32") : Path.of(generator);
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
    config.put(GenerationSettings.GUIDANCE_LOW, guidanceLow);
    config.put(GenerationSettings.GUIDANCE_HIGH, guidanceHigh);
  }
}
