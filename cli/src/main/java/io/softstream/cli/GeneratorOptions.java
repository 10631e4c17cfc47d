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
 * Options shared by the commands that run a generator ({@code generate}, {@code generate-worker}):
 * which generator, and how it integrates (method and the t interval where guidance applies). The
 * tokenizer whose decoder turns tokens into pixels is {@code --model} of each command, by default
 * the one the generator was trained on ({@link #defaultTokenizer()}).
 */
public final class GeneratorOptions {
  /**
   * The shipped generator: 16 tokens of softvq-fmnist-16 (3.2x faster than the 2-D baseline, see
   * its card).
   */
  static final String SHIPPED = "gen-fmnist-16";

  @Option(
      names = "--generator",
      paramLabel = "DIR",
      description =
          "Generator directory (env SOFTSTREAM_GENERATOR; default: the shipped models/"
              + GeneratorOptions.SHIPPED
              + ").")
  String generator;

  // Null unless given, so that generate-worker's --config file and environment are not overridden.
  @Option(names = "--sampler", description = "euler|heun|sde (default: euler).")
  String sampler;

  @Option(names = "--guidance-low", description = "Guidance applies for t >= this (default: 0).")
  Float guidanceLow;

  @Option(names = "--guidance-high", description = "Guidance applies for t <= this (default: 1).")
  Float guidanceHigh;

  /** {@code --generator}, else env SOFTSTREAM_GENERATOR, else the shipped generator. */
  Path generatorDir() {
    String env = Settings.env("SOFTSTREAM_GENERATOR");
    String dir = generator != null && !generator.isBlank() ? generator : env;
    return dir == null || dir.isBlank() ? ShippedModels.model(SHIPPED) : Path.of(dir);
  }

  /**
   * The tokenizer whose decoder turns this generator's tokens into pixels when no {@code --model}
   * is given: the one named in the generator's card ({@code training.tokenizer}) among the shipped
   * models, else the shipped Fashion-MNIST tokenizer.
   */
  Path defaultTokenizer() throws MalformedModelException {
    return defaultTokenizer(generatorDir());
  }

  /** {@link #defaultTokenizer()} of the generator in {@code generator}. */
  static Path defaultTokenizer(Path generator) throws MalformedModelException {
    Path named = trainedOn(generator);
    return named != null ? named : ShippedModels.fashionMnist();
  }

  /**
   * The shipped tokenizer named in {@code generator}'s card ({@code training.tokenizer}), or null.
   */
  static Path trainedOn(Path generator) throws MalformedModelException {
    Map<String, Object> training = GeneratorDir.readCard(generator).training();
    Object name = training == null ? null : training.get("tokenizer");
    if (name instanceof String n
        && !n.isBlank()
        && Files.isDirectory(ShippedModels.root().resolve("models").resolve(n))) {
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
    return new Sampler.Settings(
        Sampler.Method.parse(sampler == null ? "euler" : sampler),
        steps,
        guidance,
        guidanceLow == null ? 0f : guidanceLow,
        guidanceHigh == null ? 1f : guidanceHigh);
  }

  /**
   * Layers the generation worker's keys ({@link GenerationSettings}) onto {@code config}, which
   * holds the file's: the environment and flags win over it, and the shipped generator fills in
   * when no layer names one.
   */
  void putInto(Map<String, Object> config) {
    Settings.putIfSet(
        config, GenerationSettings.GENERATOR_DIR, Settings.env("SOFTSTREAM_GENERATOR"));
    Settings.putIfSet(config, GenerationSettings.GENERATOR_DIR, generator);
    if (String.valueOf(config.getOrDefault(GenerationSettings.GENERATOR_DIR, "")).isBlank()) {
      config.put(GenerationSettings.GENERATOR_DIR, ShippedModels.model(SHIPPED).toString());
    }
    Settings.putIfSet(config, GenerationSettings.SAMPLER, sampler);
    // ConfigDef's DOUBLE takes a Double, not a Float.
    Settings.putIfSet(
        config,
        GenerationSettings.GUIDANCE_LOW,
        guidanceLow == null ? null : guidanceLow.doubleValue());
    Settings.putIfSet(
        config,
        GenerationSettings.GUIDANCE_HIGH,
        guidanceHigh == null ? null : guidanceHigh.doubleValue());
  }
}
