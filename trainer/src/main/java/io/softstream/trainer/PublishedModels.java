package io.softstream.trainer;

import io.softstream.model.ModelDir;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelArtifacts;
import io.softstream.topology.models.ModelCatalog;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.topology.models.PromotionGate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trainer's side of the model lifecycle on Kafka (topology's {@link ModelRegistry}): fetch a
 * published version to fine-tune, publish a trained directory as the next version.
 */
public final class PublishedModels {
  private PublishedModels() {}

  /** One published version and the gate's decision on it (null when no gate was asked for). */
  public record Published(ModelVersion version, PromotionGate.Decision decision) {}

  /**
   * Fetches, verifies and unpacks version {@code version} of {@code name} (its encoder artifact,
   * which holds the whole tokenizer) into a new temporary folder, and returns that folder.
   *
   * @throws IllegalArgumentException if there is no such version
   */
  public static Path fetch(
      Map<String, Object> clientProps, TopicLayout topics, String name, int version)
      throws IOException {
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(clientProps);
        ModelCatalog catalog = new ModelCatalog(clientProps, schemas, topics.modelVersions());
        ModelRegistry registry = new ModelRegistry(clientProps, schemas, topics)) {
      catalog.refresh(Duration.ofSeconds(15));
      ModelVersion v =
          catalog
              .get(name, ModelKind.ENCODER, version)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "No version "
                              + version
                              + " of "
                              + name
                              + " on "
                              + topics.modelVersions()
                              + "; see softstream models list"));
      Path dir = Files.createTempDirectory("softstream-continue-");
      ModelArtifacts.unpack(registry.fetch(v, Duration.ofSeconds(60)), dir);
      return dir;
    }
  }

  /**
   * Publishes the model directory {@code dir} as the next version of {@code name}, for encoders and
   * decoders, as a CANDIDATE carrying its card's metrics; with a {@code gate}, promotes each kind
   * to ACTIVE if the gate lets it replace the active version.
   */
  public static List<Published> publish(
      Map<String, Object> clientProps,
      TopicLayout topics,
      Path dir,
      String name,
      PromotionGate gate)
      throws IOException {
    Map<String, Double> metrics = cardMetrics(dir);
    List<Published> published = new ArrayList<>();
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(clientProps);
        ModelCatalog catalog = new ModelCatalog(clientProps, schemas, topics.modelVersions());
        ModelRegistry registry = new ModelRegistry(clientProps, schemas, topics)) {
      catalog.refresh(Duration.ofSeconds(15));
      // The decoder first: a token of a new version must never reach a decoder that has not heard
      // of it (it would be dead-lettered as an unknown version).
      for (ModelKind kind : List.of(ModelKind.DECODER, ModelKind.ENCODER)) {
        ModelVersion v =
            registry.publish(
                dir, name, kind, catalog.nextVersion(name, kind), metrics, ModelStatus.CANDIDATE);
        published.add(
            new Published(
                v,
                gate == null
                    ? null
                    : registry.promoteIfBetter(v, catalog.active(name, kind), gate)));
      }
    }
    return published;
  }

  /**
   * The numeric metrics of {@code dir}'s card, as a published version carries them.
   *
   * @throws IllegalArgumentException if {@code dir} is not a model directory
   */
  public static Map<String, Double> cardMetrics(Path dir) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    try {
      ModelDir.readCard(dir)
          .metrics()
          .forEach(
              (k, v) -> {
                if (v instanceof Number n) {
                  metrics.put(k, n.doubleValue());
                }
              });
    } catch (Exception e) {
      throw new IllegalArgumentException(dir + " is not a model directory: " + e.getMessage(), e);
    }
    return metrics;
  }
}
