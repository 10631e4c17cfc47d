package io.softstream.cli;

import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.topology.TopicLayout;
import io.softstream.trainer.PublishedModels;
import io.softstream.trainer.TopicImages;
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
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Trains a tokenizer (SoftVQ-VAE, or the hard-VQ / plain autoencoder baselines) on Fashion-MNIST or
 * wallpaper photos.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train a tokenizer and write a model directory (model.json card, weights, README, evaluation).",
      "Settings: --config FILE (JSON) and/or KEY=VALUE overrides, e.g. steps=2000 batch_size=64 model.tokens=32 "
          + "model.quantizer=softvq|hardvq|none model.tau=0.07 align=true output_dir=models/my-tokenizer "
          + "checkpoint_dir=data/ckpt (resumes when it holds a checkpoint); dataset=photos model.channels=3 "
          + "align_target=hog for colour crops of the wallpaper pictures. See trainer/README.md for every key.",
      "Progress: one line per log_every steps with loss, images/s and ETA. Use JAVA_OPTS="
          + "-Dai.djl.pytorch.num_threads=1 to leave a core free."
    })
public final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "JSON training config (keys as in trainer/README.md).")
  Path config;

  @Parameters(
      paramLabel = "KEY=VALUE",
      arity = "0..*",
      description = "Overrides, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Option(
      names = "--continue-from",
      paramLabel = "VERSION",
      description =
          "Fine-tune version VERSION of --name, fetched from Kafka (model-versions / model-artifacts).")
  Integer continueFrom;

  @Option(
      names = "--publish",
      description = "Publish the result as the next version of --name (CANDIDATE).")
  boolean publish;

  @Option(names = "--name", description = "Model name on Kafka, for --continue-from and --publish.")
  String name;

  @Mixin PromotionOptions promotion;

  @Option(
      names = "--from-topic",
      paramLabel = "TOPIC",
      description =
          "Train on the most recent images of this ImageEvent topic (e.g. images) instead of the data set.")
  String fromTopic;

  @Option(
      names = "--max-images",
      defaultValue = "5000",
      description = "With --from-topic: how many recent images (default: ${DEFAULT-VALUE}).")
  int maxImages;

  @Mixin KafkaOptions kafka;
  @Mixin TopicOptions topicOptions;

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
    if ((continueFrom != null || publish) && (name == null || name.isBlank())) {
      throw new IllegalArgumentException(
          "--continue-from and --publish need --name (the model name on Kafka)");
    }
    TopicLayout topics = topicOptions.layout();
    Map<String, Object> props = kafka.clientProperties();
    if (continueFrom != null) {
      Path from = PublishedModels.fetch(props, topics, name, continueFrom);
      out.printf("continuing from %s version %d (%s)%n", name, continueFrom, from);
      cfg = cfg.continuingFrom(from);
    }
    cfg = cfg.withOverrides(o);
    out.println("config: " + ModelCard.JSON.writeValueAsString(cfg).replaceAll("\\s+", " "));
    out.flush();
    io.softstream.trainer.Dataset data = null;
    if (fromTopic != null) {
      TokenizerConfig c = cfg.model();
      data = TopicImages.recent(props, fromTopic, maxImages, c);
      out.printf("fine-tuning on %d recent images from topic %s%n", data.count(), fromTopic);
      out.flush();
    }
    TrainingReport report = TrainerRun.run(cfg, System.out, data);
    out.println(ModelCard.JSON.writeValueAsString(report));
    out.flush();
    if (publish) {
      for (PublishedModels.Published p :
          PublishedModels.publish(
              props, topics, Path.of(cfg.outputDir()), name, promotion.gate())) {
        ModelVersion v = p.version();
        out.printf(
            "published %s %s version %d (%s, %d bytes, sha256 %s)%n",
            name, v.getKind(), v.getVersion(), v.getStatus(), v.getSizeBytes(), v.getSha256());
        if (p.decision() != null) {
          out.printf(
              "%s %s version %d: %s%n", name, v.getKind(), v.getVersion(), p.decision().reason());
        }
      }
      out.flush();
    }
    return 0;
  }
}
