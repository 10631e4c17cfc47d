package io.softstream.cli;

import io.softstream.model.generator.Sampler;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * What to generate, shared by {@code generate} (on this machine) and {@code request} (through the
 * generation workers): a label or a prompt, the seed, the guidance and the steps. The count stays
 * with each command (their defaults differ).
 */
public final class GenerationOptions {
  static final class Target {
    @Option(names = "--label", description = "Class label id, e.g. 7 (Sneaker).")
    Integer label;

    @Option(
        names = "--prompt",
        description = "Text naming a class, e.g. \"ankle boot\" or \"a pair of sneakers\".")
    String prompt;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Target target;

  @Option(
      names = "--seed",
      defaultValue = "0",
      description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--guidance",
      defaultValue = "" + Sampler.DEFAULT_GUIDANCE,
      description = "Classifier-free guidance scale, 0..20; 1 = none (default: ${DEFAULT-VALUE}).")
  float guidance;

  @Option(
      names = "--steps",
      defaultValue = "" + Sampler.DEFAULT_STEPS,
      description = "Integration steps, 1..1000 (default: ${DEFAULT-VALUE}).")
  int steps;

  Integer label() {
    return target.label;
  }

  String prompt() {
    return target.prompt;
  }
}
