package io.softstream.cli;

import io.softstream.model.ModelCard;
import io.softstream.trainer.generator.GeneratorMain;
import io.softstream.trainer.generator.JudgeTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Trains and evaluates image generators over tokens, and the judge that scores them. */
@Command(
    name = "train-generator",
    mixinStandardHelpOptions = true,
    description = {
      "Train a generator over a tokenizer's 1-D tokens (or latent=pixels: the 2-D baseline) and evaluate it "
          + "with the held-out judge, writing the figures into its card.",
      "Settings are KEY=VALUE: tokenizer=DIR out=DIR judge=DIR steps=5000 train=false (evaluate only) ...; see the "
          + "Javadoc of io.softstream.trainer.generator.GeneratorMain for every key. Prints progress, then the "
          + "evaluation JSON."
    })
public final class TrainGeneratorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Settings.")
  List<String> settings = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    GeneratorMain.run(GeneratorMain.keyValues(settings.toArray(String[]::new)), System.out);
    return 0;
  }

  /** {@code softstream train-judge}: the held-out classifier that scores generated images. */
  @Command(
      name = "train-judge",
      mixinStandardHelpOptions = true,
      description = {
        "Train the held-out judge of generated images (a classifier trained on real Fashion-MNIST training "
            + "images only) and write it as a model directory.",
        "Settings are KEY=VALUE: out=DIR tokenizer=DIR width=48 depth=5 steps=6000 val=0 ...; see the Javadoc of "
            + "io.softstream.trainer.generator.JudgeTrainer. Prints progress, then the metrics JSON."
      })
  public static final class Judge implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Settings.")
    List<String> settings = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      var metrics =
          JudgeTrainer.run(
              JudgeTrainer.config(GeneratorMain.keyValues(settings.toArray(String[]::new))),
              System.out);
      spec.commandLine().getOut().println(ModelCard.JSON.writeValueAsString(metrics));
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
