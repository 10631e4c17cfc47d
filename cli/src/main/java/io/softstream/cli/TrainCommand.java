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

/** Trains a tokenizer (SoftVQ-VAE, or the hard-VQ / plain autoencoder baselines) on Fashion-MNIST or wallpaper photos. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = {"Train a tokenizer and write a model directory (model.json card, weights, README, evaluation).",
        "Settings: --config FILE (JSON) and/or KEY=VALUE overrides, e.g. steps=2000 batch_size=64 model.tokens=32 "
            + "model.quantizer=softvq|hardvq|none model.tau=0.07 align=true output_dir=models/my-tokenizer "
            + "checkpoint_dir=data/ckpt (resumes when it holds a checkpoint); dataset=photos model.channels=3 "
            + "align_target=hog for colour crops of the wallpaper pictures. See trainer/README.md for every key.",
        "Progress: one line per log_every steps with loss, images/s and ETA. Use JAVA_OPTS="
            + "-Dai.djl.pytorch.num_threads=1 to leave a core free."})
public final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "JSON training config (keys as in trainer/README.md).")
  Path config;

  @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Overrides, applied after --config.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--continue-from", paramLabel = "VERSION",
      description = "Fine-tune version VERSION of --name, fetched from Kafka (model-versions / model-artifacts).")
  Integer continueFrom;

  @Option(names = "--publish", description = "Publish the result as the next version of --name (CANDIDATE).")
  boolean publish;

  @Option(names = "--name", description = "Model name on Kafka, for --continue-from and --publish.")
  String name;

  @Option(names = "--promote-if-better", description = "With --publish: promote the result only if its held-out "
      + "psnr beats the active version's (or is within --gate-tolerance); otherwise it stays CANDIDATE.")
  boolean promoteIfBetter;

  @Option(names = "--gate-tolerance", defaultValue = "0.1", description = "Accepted PSNR shortfall in dB (default: ${DEFAULT-VALUE}).")
  double gateTolerance;

  @Option(names = "--from-topic", paramLabel = "TOPIC",
      description = "Train on the most recent images of this ImageEvent topic (e.g. images) instead of the data set.")
  String fromTopic;

  @Option(names = "--max-images", defaultValue = "5000", description = "With --from-topic: how many recent images (default: ${DEFAULT-VALUE}).")
  int maxImages;

  @picocli.CommandLine.Mixin KafkaOptions kafka;

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
      throw new IllegalArgumentException("--continue-from and --publish need --name (the model name on Kafka)");
    }
    io.softstream.topology.TopicLayout topics = io.softstream.topology.TopicLayout.defaults();
    Map<String, Object> props = kafka.clientProperties();
    if (continueFrom != null) {
      Path from = fetch(props, topics, name, continueFrom);
      ModelCard card = io.softstream.model.ModelDir.readCard(from);
      out.printf("continuing from %s version %d (%s)%n", name, continueFrom, from);
      // The architecture is the fetched version's; every other setting is this run's.
      com.fasterxml.jackson.databind.node.ObjectNode tree = ModelCard.JSON.valueToTree(cfg);
      tree.set("model", ModelCard.JSON.valueToTree(card.tokenizerConfig()));
      tree.put("init_from", from.toString());
      cfg = ModelCard.JSON.treeToValue(tree, TrainConfig.class);
    }
    cfg = cfg.withOverrides(o);
    out.println("config: " + ModelCard.JSON.writeValueAsString(cfg).replaceAll("\\s+", " "));
    out.flush();
    io.softstream.trainer.Dataset data = null;
    if (fromTopic != null) {
      data = recentImages(props, fromTopic, maxImages, cfg.model());
      out.printf("fine-tuning on %d recent images from topic %s%n", data.count(), fromTopic);
      out.flush();
    }
    TrainingReport report = TrainerRun.run(cfg, System.out, data);
    out.println(ModelCard.JSON.writeValueAsString(report));
    out.flush();
    if (publish) {
      java.util.List<String> args = new ArrayList<>(java.util.List.of("models", "publish", cfg.outputDir(), "--name", name,
          "--bootstrap-servers", props.get("bootstrap.servers").toString(), "--schema-registry-url",
          props.get("schema.registry.url").toString(), "--gate-tolerance", Double.toString(gateTolerance)));
      if (promoteIfBetter) {
        args.add("--promote-if-better");
      }
      return spec.root().commandLine().execute(args.toArray(String[]::new));
    }
    return 0;
  }

  /** The last {@code max} decodable images of an ImageEvent topic (read_committed), fitted to the model. */
  private static io.softstream.trainer.Dataset recentImages(Map<String, Object> props, String topic, int max,
      io.softstream.model.TokenizerConfig c) {
    Map<String, Object> cc = new java.util.HashMap<>(props);
    cc.put("isolation.level", "read_committed");
    cc.put("enable.auto.commit", false);
    cc.put("max.partition.fetch.bytes", 16 * 1024 * 1024);
    var pre = new io.softstream.model.image.ImageTranslator(c.imageSize(), c.channels(),
        io.softstream.model.image.ImageTranslator.Resize.FIT,
        io.softstream.model.image.ImageTranslator.Limits.of(16 * 1024 * 1024, 100_000_000));
    List<float[]> images = new ArrayList<>();
    try (var schemas = io.softstream.schemas.registry.SchemaRegistryClients.create(props);
        var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, io.softstream.schemas.avro.ImageEvent>(cc,
            new org.apache.kafka.common.serialization.StringDeserializer(),
            new io.softstream.schemas.serde.AvroDeserializer<>(schemas, io.softstream.schemas.avro.ImageEvent.class))) {
      var parts = consumer.partitionsFor(topic, java.time.Duration.ofSeconds(10)).stream()
          .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
      consumer.assign(parts);
      var end = consumer.endOffsets(parts);
      var begin = consumer.beginningOffsets(parts);
      int share = Math.max(1, max / parts.size() + 1);
      parts.forEach(tp -> consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - share)));
      long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline && parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        for (var r : consumer.poll(java.time.Duration.ofMillis(300))) {
          float[] px = new float[pre.floatsPerImage()];
          try {
            var b = r.value().getImageBytes();
            byte[] bytes = new byte[b.remaining()];
            b.duplicate().get(bytes);
            pre.decodeInto(bytes, r.value().getContentType(), px, 0);
            images.add(px);
          } catch (RuntimeException bad) {
            // an undecodable image is simply not training data
          }
        }
      }
    }
    if (images.isEmpty()) {
      throw new IllegalArgumentException("No decodable images on topic " + topic);
    }
    List<float[]> recent = images.subList(Math.max(0, images.size() - max), images.size());
    float[] all = new float[recent.size() * pre.floatsPerImage()];
    for (int i = 0; i < recent.size(); i++) {
      System.arraycopy(recent.get(i), 0, all, i * pre.floatsPerImage(), pre.floatsPerImage());
    }
    return new io.softstream.trainer.Dataset(all, null, c.channels(), c.imageSize());
  }

  /** Fetches, verifies and unpacks a published version into a temporary folder. */
  private static Path fetch(Map<String, Object> props, io.softstream.topology.TopicLayout topics, String name, int version)
      throws Exception {
    try (var schemas = io.softstream.schemas.registry.SchemaRegistryClients.create(props);
        var catalog = new io.softstream.topology.models.ModelCatalog(props, schemas, topics.modelVersions());
        var registry = new io.softstream.topology.models.ModelRegistry(props, schemas, topics)) {
      catalog.refresh(java.time.Duration.ofSeconds(15));
      var v = catalog.get(name, io.softstream.schemas.avro.ModelKind.ENCODER, version).orElseThrow(() ->
          new IllegalArgumentException("No version " + version + " of " + name + " on " + topics.modelVersions()
              + "; see softstream models list"));
      Path dir = java.nio.file.Files.createTempDirectory("softstream-continue-");
      io.softstream.topology.models.ModelArtifacts.unpack(registry.fetch(v, java.time.Duration.ofSeconds(60)), dir);
      return dir;
    }
  }
}
