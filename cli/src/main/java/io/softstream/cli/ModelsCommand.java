package io.softstream.cli;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.topology.models.PromotionGate;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The model-version table on Kafka: list, publish, promote, rollback, retire. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = {
      "Model versions on Kafka (topic model-versions; artifacts in model-artifacts).",
      "  list                         every version and its status",
      "  publish DIR --name N         upload a model directory as the next version (CANDIDATE, or --activate)",
      "  promote N VERSION            make VERSION the active one (workers with model.watch hot-swap to it)",
      "  rollback N                   re-activate the version that was active before the current one",
      "  retire N VERSION             mark VERSION retired (decoders still decode its old tokens)"
    })
public final class ModelsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Parameters(index = "0", description = "list|publish|promote|rollback|retire")
  String action;

  @Parameters(index = "1..*", arity = "0..*", description = "Arguments of the action.")
  List<String> args = List.of();

  @Option(names = "--name", description = "Model name (publish).")
  String name;

  @Option(
      names = "--kind",
      defaultValue = "DECODER,ENCODER",
      description =
          "Kinds to publish or change, comma-separated, in that order (default: ${DEFAULT-VALUE}: a tokenizer serves both; the decoder first, so no token of a new version reaches a decoder that has not heard of it).")
  String kinds;

  @Option(names = "--activate", description = "publish: announce the new version ACTIVE at once.")
  boolean activate;

  @Option(
      names = "--artifact-dir",
      paramLabel = "DIR",
      description =
          "publish: write the artifact to this shared folder "
              + "(file:// location, for models too large for the artifact topic) instead of the model-artifacts topic.")
  Path artifactDir;

  @Mixin PromotionOptions promotion;
  @Mixin TopicOptions topicOptions;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    TopicLayout topics = topicOptions.layout();
    Map<String, Object> props = kafka.clientProperties();
    ClusterCheck.require(props);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(props);
        ModelCatalog catalog = new ModelCatalog(props, schemas, topics.modelVersions());
        ModelRegistry registry = new ModelRegistry(props, schemas, topics)) {
      catalog.refresh(Duration.ofSeconds(15));
      List<ModelKind> kindList =
          java.util.Arrays.stream(kinds.split(","))
              .map(k -> ModelKind.valueOf(k.trim().toUpperCase(Locale.ROOT)))
              .toList();
      switch (action) {
        case "list" -> {
          out.printf(
              "%-24s %-10s %7s %-9s %-10s %12s  %-16s %s%n",
              "name", "kind", "version", "status", "effective", "bytes", "sha256", "metrics");
          for (ModelCatalog.Entry e : catalog.all()) {
            ModelVersion v = e.version();
            boolean active =
                catalog
                    .active(v.getName(), v.getKind())
                    .map(a -> a.getVersion() == v.getVersion())
                    .orElse(false);
            // The effective state, by the rule every reader applies (ModelCatalog.activeOf, also
            // the ingest gate's model table): an ACTIVE announcement overtaken by a later one is
            // superseded.
            String effective =
                active
                    ? "SERVING"
                    : v.getStatus() == ModelStatus.ACTIVE ? "SUPERSEDED" : v.getStatus().toString();
            out.printf(
                "%-24s %-10s %7d %-9s %-10s %12d  %-16s %s%s%n",
                v.getName(),
                v.getKind(),
                v.getVersion(),
                v.getStatus(),
                effective,
                v.getSizeBytes(),
                v.getSha256().substring(0, 16),
                v.getMetrics(),
                active ? "  <- serving" : "");
          }
        }
        case "publish" -> {
          require(args.size() == 1 && name != null, "publish DIR --name NAME");
          Path dir = Path.of(args.get(0));
          Map<String, Double> metrics = io.softstream.trainer.PublishedModels.cardMetrics(dir);
          for (ModelKind k : kindList) {
            int version = catalog.nextVersion(name, k);
            ModelStatus status = activate ? ModelStatus.ACTIVE : ModelStatus.CANDIDATE;
            ModelVersion v =
                artifactDir != null
                    ? registry.publishToFolder(dir, artifactDir, name, k, version, metrics, status)
                    : registry.publish(dir, name, k, version, metrics, status);
            out.printf(
                "published %s %s version %d (%s, %d bytes, sha256 %s)%n",
                name, k, version, v.getStatus(), v.getSizeBytes(), v.getSha256());
            PromotionGate gate = promotion.gate();
            if (gate != null && !activate) {
              PromotionGate.Decision decision =
                  registry.promoteIfBetter(v, catalog.active(name, k), gate);
              out.printf("%s %s version %d: %s%n", name, k, version, decision.reason());
            }
          }
        }
        case "promote", "retire" -> {
          require(args.size() == 2, action + " NAME VERSION");
          for (ModelKind k : kindList) {
            ModelVersion v =
                catalog
                    .get(args.get(0), k, Integer.parseInt(args.get(1)))
                    .orElseThrow(
                        () ->
                            new IllegalArgumentException(
                                "No version "
                                    + args.get(1)
                                    + " of "
                                    + args.get(0)
                                    + " "
                                    + k
                                    + "; see "
                                    + "`softstream models list`"));
            ModelStatus s = action.equals("promote") ? ModelStatus.ACTIVE : ModelStatus.RETIRED;
            registry.announce(
                ModelVersion.newBuilder(v).setStatus(s).setCreatedAt(Instant.now()).build());
            out.printf("%s %s version %d is now %s%n", v.getName(), k, v.getVersion(), s);
          }
        }
        case "rollback" -> {
          require(args.size() == 1, "rollback NAME");
          for (ModelKind k : kindList) {
            List<ModelCatalog.Entry> activeHistory =
                catalog.all().stream()
                    .filter(
                        e ->
                            e.version().getName().equals(args.get(0))
                                && e.version().getKind() == k
                                && e.version().getStatus() == ModelStatus.ACTIVE)
                    .toList();
            require(
                activeHistory.size() >= 2,
                "rollback needs an earlier ACTIVE version of " + args.get(0) + " " + k);
            ModelVersion previous = activeHistory.get(activeHistory.size() - 2).version();
            registry.announce(
                ModelVersion.newBuilder(previous).setCreatedAt(Instant.now()).build());
            out.printf(
                "%s %s rolled back to version %d%n", previous.getName(), k, previous.getVersion());
          }
        }
        default ->
            throw new IllegalArgumentException(
                "Unknown action '"
                    + action
                    + "'; accepted: list, publish, promote, rollback, retire");
      }
    }
    return 0;
  }

  private static void require(boolean ok, String usage) {
    if (!ok) {
      throw new IllegalArgumentException("usage: softstream models " + usage);
    }
  }
}
