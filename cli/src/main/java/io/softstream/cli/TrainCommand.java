package io.softstream.cli;

import io.softstream.model.ModelCard;
import io.softstream.trainer.TrainConfig;
import io.softstream.trainer.TrainerRun;
import io.softstream.trainer.TrainingReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Trains a tokenizer (SoftVQ-VAE, or the hard-VQ / plain autoencoder baselines) on Fashion-MNIST. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = {"Train a tokenizer and write a model directory (model.json card, weights, README, evaluation).",
        "Settings: --config FILE (JSON) and/or KEY=VALUE overrides, e.g. steps=2000 batch_size=64 model.tokens=32 "
            + "model.quantizer=softvq|hardvq|none model.tau=0.07 align=true output_dir=models/my-tokenizer "
            + "checkpoint_dir=data/ckpt (resumes when it holds a checkpoint). See trainer/README.md for every key.",
        "Progress: one line per log_every steps with loss, images/s and ETA. Use JAVA_OPTS="
            + "-Dai.djl.pytorch.num_threads=1 to leave a core free."})
public final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "JSON training config (keys as in trainer/README.md).")
  Path config;

  @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Overrides, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    TrainConfig cfg = config != null ? TrainConfig.fromJson(config) : TrainConfig.defaults();
    Map<String, String> o = new LinkedHashMap<>();
    for (String kv : overrides) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("Override '" + kv + "' is not KEY=VALUE");
      }
      o.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    cfg = cfg.withOverrides(o);
    out.println("config: " + ModelCard.JSON.writeValueAsString(cfg).replaceAll("\\s+", " "));
    out.flush();
    TrainingReport report = TrainerRun.run(cfg);
    out.println(ModelCard.JSON.writeValueAsString(report));
    out.flush();
    return 0;
  }
}
