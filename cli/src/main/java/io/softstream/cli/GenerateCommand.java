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

  @Mixin GenerationOptions what;

  @Mixin GeneratorOptions generatorOptions;

  @Option(
      names = "--count",
      defaultValue = "16",
      description = "Number of images, 1..4096 (default: ${DEFAULT-VALUE}).")
  int count;

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
    if (what.steps < 1 || what.steps > GenerationSettings.MAX_STEPS) {
      throw new ParameterException(
          cl, "--steps " + what.steps + " is outside 1.." + GenerationSettings.MAX_STEPS);
    }
    if (!(what.guidance >= 0 && what.guidance <= GenerationSettings.MAX_GUIDANCE)) {
      throw new ParameterException(
          cl,
          "--guidance "
              + what.guidance
              + " is outside [0, "
              + GenerationSettings.MAX_GUIDANCE
              + "]");
    }
    Sampler.Settings settings;
    try {
      settings = generatorOptions.settings(what.steps, what.guidance);
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
      if (what.label() != null) {
        label = what.label();
        if (label < 0 || label >= g.numClasses()) {
          throw new ParameterException(
              cl,
              "--label " + label + " is out of range; accepted labels are " + prompts.accepted());
        }
      } else {
        try {
          label = prompts.resolve(what.prompt());
        } catch (IllegalArgumentException e) {
          throw new ParameterException(cl, e.getMessage());
        }
      }
      int[] labels = new int[count];
      long[] seeds = new long[count];
      for (int i = 0; i < count; i++) {
        labels[i] = label;
        seeds[i] = Sampler.imageSeed(what.seed, i);
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
          what.steps,
          settings.method().name().toLowerCase(java.util.Locale.ROOT),
          what.guidance,
          what.seed,
          secs,
          count / secs);
      pw.flush();
    }
    return 0;
  }
}
