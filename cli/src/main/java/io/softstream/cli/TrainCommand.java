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

  @Option(
      names = "--overwrite",
      description =
          "Replace the model already in output_dir (its ONNX files are removed; export again after).")
  boolean overwrite;

  /** Fewer images than this from --from-topic make a fine-tuning run mostly noise: warn. */
  static final int FEW_TOPIC_IMAGES = 500;

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
    if (name != null && !o.containsKey("name")) {
      o.put("name", name);
    }
    cfg = cfg.withOverrides(outputAndName(cfg, o, config != null));
    guardOutput(cfg, overwrite, out);
    out.println("config: " + ModelCard.JSON.writeValueAsString(cfg).replaceAll("\\s+", " "));
    out.flush();
    io.softstream.trainer.Dataset data = null;
    if (fromTopic != null) {
      TokenizerConfig c = cfg.model();
      data = TopicImages.recent(props, fromTopic, maxImages, c);
      out.printf("fine-tuning on %d recent images from topic %s%n", data.count(), fromTopic);
      if (data.count() < FEW_TOPIC_IMAGES) {
        out.printf(
            "warning: only %d images on %s (fewer than %d): the model will mostly fit these few; "
                + "send more (softstream send) or raise --max-images%n",
            data.count(), fromTopic, FEW_TOPIC_IMAGES);
      }
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

  /**
   * The run's name and model directory. Without {@code output_dir} a run writes to {@code
   * models/<name>} (name default: {@code tokenizer-<time>}), never into the shipped default model;
   * without {@code name} the card is named after its directory.
   */
  static Map<String, String> outputAndName(
      TrainConfig cfg, Map<String, String> o, boolean fromFile) {
    Map<String, String> r = new LinkedHashMap<>(o);
    String defaultDir = TrainConfig.defaults().outputDir();
    boolean dirGiven =
        o.containsKey("output_dir") || (fromFile && !cfg.outputDir().equals(defaultDir));
    boolean nameGiven =
        o.containsKey("name") || (fromFile && !cfg.name().equals(TrainConfig.defaults().name()));
    if (!dirGiven) {
      String n =
          nameGiven
              ? cfg.withOverrides(o).name()
              : "tokenizer-"
                  + java.time.LocalDateTime.now()
                      .format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
      r.put("name", n);
      r.put("output_dir", "models/" + n);
    } else if (!nameGiven) {
      String dir = o.getOrDefault("output_dir", cfg.outputDir());
      r.put("name", Path.of(dir).getFileName().toString());
    }
    return r;
  }

  /**
   * Refuses to write over a model this run did not start from, unless {@code overwrite}; then
   * removes the old ONNX files, which belong to the old weights.
   */
  static void guardOutput(TrainConfig cfg, boolean overwrite, PrintWriter out)
      throws java.io.IOException {
    Path dir = Path.of(cfg.outputDir());
    if (!java.nio.file.Files.exists(dir.resolve("model.json"))) {
      return;
    }
    boolean startsFromIt =
        cfg.initFrom() != null
            && Path.of(cfg.initFrom())
                .toAbsolutePath()
                .normalize()
                .equals(dir.toAbsolutePath().normalize());
    if (!overwrite && !startsFromIt) {
      throw new IllegalArgumentException(
          dir
              + " already holds a model that this run does not start from; choose another "
              + "output_dir=DIR, or pass --overwrite to replace it");
    }
    for (String f : List.of("encoder.onnx", "decoder.onnx")) {
      if (java.nio.file.Files.deleteIfExists(dir.resolve(f))) {
        out.printf(
            "removed %s (it belongs to the old weights; softstream export re-creates it)%n",
            dir.resolve(f));
      }
    }
  }
}
