package io.softstream.topology;

import java.util.List;

/**
 * Every topic of the system, declared in one place. A prefix namespaces a whole deployment (or one
 * test): {@code TopicLayout.of("t42-").images()} is {@code t42-images}.
 *
 * <p>Keys: image id for images and tokens, request id for generation, {@code name:kind} for model
 * versions (compacted: the latest announcement per model wins).
 */
public final class TopicLayout {
  private static final int MB = 1024 * 1024;
  private static final long WEEK_MS = 7L * 24 * 3600 * 1000;

  private final String prefix;
  private final short replication;

  private TopicLayout(String prefix, short replication) {
    this.prefix = prefix;
    this.replication = replication;
  }

  /** The default layout (no prefix, replication 1: the embedded single-node broker). */
  public static TopicLayout defaults() {
    return new TopicLayout("", (short) 1);
  }

  public static TopicLayout of(String prefix) {
    return new TopicLayout(prefix, (short) 1);
  }

  /** The same names with another replication factor (3 on a production cluster). */
  public TopicLayout withReplication(int replicationFactor) {
    return new TopicLayout(prefix, (short) replicationFactor);
  }

  public String prefix() {
    return prefix;
  }

  /**
   * The user-facing ingest topic: producers may write here and the ingest gate (a Kafka Streams
   * app) validates, answers from the token cache, and forwards the rest to {@link #images()}.
   */
  public String ingest() {
    return prefix + "image-ingest";
  }

  public String images() {
    return prefix + "images";
  }

  public String tokens() {
    return prefix + "tokens";
  }

  public String generationRequests() {
    return prefix + "generation-requests";
  }

  public String generatedImages() {
    return prefix + "generated-images";
  }

  /**
   * Unit generation jobs: a large request split by the generation app so several workers share it.
   */
  public String generationJobs() {
    return prefix + "generation-jobs";
  }

  /** One completion record per generation request, joined from its generated images. */
  public String generationCompletions() {
    return prefix + "generation-completions";
  }

  /** Windowed pipeline statistics from the stats app (compacted: latest per window and key). */
  public String stats() {
    return prefix + "pipeline-stats";
  }

  public String reconstructions() {
    return prefix + "reconstructions";
  }

  public String modelVersions() {
    return prefix + "model-versions";
  }

  public String modelArtifacts() {
    return prefix + "model-artifacts";
  }

  public String deadLetters() {
    return prefix + "dead-letters";
  }

  /** The registry's store; Confluent's default name, so tools that know it find it. */
  public String schemas() {
    return prefix + "_schemas";
  }

  /** All topics with partitions, retention and size limits. */
  public List<TopicSpec> all() {
    return List.of(
        new TopicSpec(
            ingest(),
            6,
            replication,
            "delete",
            WEEK_MS,
            10 * MB,
            "ImageEvent from producers, validated and routed by the ingest gate"),
        new TopicSpec(
            images(),
            6,
            replication,
            "delete",
            WEEK_MS,
            10 * MB,
            "ImageEvent per image; partitions = max encode-worker parallelism"),
        new TopicSpec(
            tokens(),
            6,
            replication,
            "delete",
            4 * WEEK_MS,
            MB,
            "TokenRecord per image, written exactly once by encode workers"),
        new TopicSpec(
            generationRequests(),
            3,
            replication,
            "delete",
            WEEK_MS,
            MB,
            "GenerationRequest from clients"),
        new TopicSpec(
            generatedImages(),
            3,
            replication,
            "delete",
            WEEK_MS,
            10 * MB,
            "GeneratedImage per generated image"),
        new TopicSpec(
            generationJobs(),
            6,
            replication,
            "delete",
            WEEK_MS,
            MB,
            "Unit GenerationRequest jobs fanned out by the generation app"),
        new TopicSpec(
            generationCompletions(),
            3,
            replication,
            "delete",
            WEEK_MS,
            MB,
            "One completion per generation request (complete, or partial after a timeout)"),
        new TopicSpec(
            stats(),
            1,
            replication,
            "compact",
            -1,
            MB,
            "Windowed pipeline statistics, latest per window and key"),
        new TopicSpec(
            reconstructions(),
            6,
            replication,
            "delete",
            WEEK_MS,
            10 * MB,
            "Reconstructed images from decode workers"),
        new TopicSpec(
            modelVersions(),
            1,
            replication,
            "compact",
            -1,
            MB,
            "ModelVersion announcements; latest per name:kind"),
        new TopicSpec(
            modelArtifacts(),
            1,
            replication,
            "compact",
            -1,
            8 * MB,
            "Model artifacts in checksummed chunks"),
        new TopicSpec(
            deadLetters(),
            3,
            replication,
            "delete",
            4 * WEEK_MS,
            12 * MB,
            "DeadLetter for every record that could not be processed, with the reason"),
        new TopicSpec(schemas(), 1, replication, "compact", -1, MB, "Schema registry store"));
  }

  /** The spec of one topic by full name. */
  public TopicSpec spec(String topic) {
    return all().stream()
        .filter(t -> t.name().equals(topic))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "No topic "
                        + topic
                        + " in the layout; known: "
                        + all().stream().map(TopicSpec::name).toList()));
  }
}
