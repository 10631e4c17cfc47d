package io.softstream.cli;

import io.softstream.model.generator.Sampler;
import io.softstream.model.runtime.EngineKind;
import io.softstream.worker.Prompts;
import io.softstream.worker.generation.GenerationSettings;
import io.softstream.worker.generation.ImageGeneration;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Generates images of one class on this machine (no Kafka) and writes them as one PNG grid. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Generate images of one class locally (no Kafka): sample tokens with the generator, decode them "
          + "with the tokenizer and write a PNG grid.",
      "Example: softstream generate --prompt \"ankle boot\" --count 16 --out grid.png"
    })
public final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

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

  @Mixin GeneratorOptions generatorOptions;

  @Option(
      names = "--count",
      defaultValue = "16",
      description = "Number of images, 1..4096 (default: ${DEFAULT-VALUE}).")
  int count;

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

  @Option(
      names = "--columns",
      defaultValue = "0",
      description = "Grid width in images; 0 = about square.")
  int columns;

  @Option(
      names = "--out",
      defaultValue = "grid.png",
      description = "Output PNG (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description =
          "Tokenizer directory (default: the shipped tokenizer the generator was trained on).")
  Path model;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description =
          "Decoder engine: auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Override
  public Integer call() throws Exception {
    var cl = spec.commandLine();
    if (count < 1 || count > 4096) {
      throw new ParameterException(cl, "--count " + count + " is outside 1..4096");
    }
    if (steps < 1 || steps > GenerationSettings.MAX_STEPS) {
      throw new ParameterException(
          cl, "--steps " + steps + " is outside 1.." + GenerationSettings.MAX_STEPS);
    }
    if (!(guidance >= 0 && guidance <= GenerationSettings.MAX_GUIDANCE)) {
      throw new ParameterException(
          cl,
          "--guidance " + guidance + " is outside [0, " + GenerationSettings.MAX_GUIDANCE + "]");
    }
    Sampler.Settings settings;
    try {
      settings = generatorOptions.settings(steps, guidance);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(cl, e.getMessage());
    }
    Path gen = generatorOptions.generatorDir();
    Path tok = model != null ? model : generatorOptions.defaultTokenizer();
    PrintWriter pw = cl.getOut();
    try (ImageGeneration g = ImageGeneration.open(gen, tok, EngineKind.parse(engine), 0)) {
      Prompts prompts =
          g.numClasses() == 10 ? Prompts.fashionMnist() : Prompts.numbered(g.numClasses());
      int label;
      if (target.label != null) {
        label = target.label;
        if (label < 0 || label >= g.numClasses()) {
          throw new ParameterException(
              cl,
              "--label " + label + " is out of range; accepted labels are " + prompts.accepted());
        }
      } else {
        try {
          label = prompts.resolve(target.prompt);
        } catch (IllegalArgumentException e) {
          throw new ParameterException(cl, e.getMessage());
        }
      }
      int[] labels = new int[count];
      long[] seeds = new long[count];
      for (int i = 0; i < count; i++) {
        labels[i] = label;
        seeds[i] = Sampler.imageSeed(seed, i);
      }
      long t0 = System.nanoTime();
      List<ImageGeneration.Image> images = g.generate(labels, seeds, settings, 256);
      double secs = (System.nanoTime() - t0) / 1e9;
      int cols = columns > 0 ? columns : (int) Math.ceil(Math.sqrt(count));
      BufferedImage grid =
          ImageGeneration.grid(images.stream().map(ImageGeneration.Image::image).toList(), cols);
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      ImageIO.write(grid, "png", out.toFile());
      pw.printf(
          "wrote %s: %d images of class %d (%s) from %s, %d %s steps, guidance %.2f, seed %d, in %.2f s (%.1f img/s)%n",
          out,
          count,
          label,
          prompts.classNames().get(label),
          g.generator().card().name(),
          steps,
          settings.method().name().toLowerCase(java.util.Locale.ROOT),
          guidance,
          seed,
          secs,
          count / secs);
      pw.flush();
    }
    return 0;
  }
}
