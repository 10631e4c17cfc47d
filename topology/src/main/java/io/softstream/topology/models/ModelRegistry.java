package io.softstream.topology.models;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes model versions so that a worker needs nothing but Kafka: the artifact (a zipped model
 * directory) in checksummed 1 MiB chunks on the compacted model-artifacts topic, then a {@link
 * ModelVersion} announcement on the compacted model-versions topic. Also fetches and verifies
 * artifacts and changes a version's status (promote, rollback, retire = a new announcement).
 */
public final class ModelRegistry implements AutoCloseable {
  public static final int CHUNK_BYTES = 1024 * 1024;
  private static final String KAFKA_SCHEME = "kafka://";

  private final Map<String, Object> clientProps;
  private final TopicLayout topics;
  private final KafkaProducer<String, ModelVersion> announcer;
  private final KafkaProducer<String, byte[]> chunks;

  /** The artifact could not be fetched or does not match its announcement. */
  public static class ArtifactException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ArtifactException(String message) {
      super(message);
    }
  }

  /**
   * The artifact's store could not be reached (broker timeouts, an unreadable file): a failure of
   * the worker's dependencies, not of the version, so it is tried again (issue #17). An artifact
   * that was read but is incomplete or does not match its announcement stays an {@link
   * ArtifactException}: that version is broken for every worker.
   */
  public static class ArtifactUnreachableException extends ArtifactException {
    private static final long serialVersionUID = 1L;

    public ArtifactUnreachableException(String message) {
      super(message);
    }
  }

  public ModelRegistry(
      Map<String, Object> clientProps, SchemaRegistryClient registry, TopicLayout topics) {
    this.clientProps = clientProps;
    this.topics = topics;
    Map<String, Object> p = new HashMap<>(clientProps);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * CHUNK_BYTES);
    this.announcer =
        new KafkaProducer<>(
            p, new StringSerializer(), new AvroSerializer<>(registry, clientProps, false));
    this.chunks = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  /**
   * Uploads {@code dir} as version {@code version} of {@code name}/{@code kind} and announces it
   * with {@code status}. The chunks are acknowledged before the announcement is sent, so whoever
   * sees the announcement can fetch the artifact.
   */
  public ModelVersion publish(
      Path dir,
      String name,
      ModelKind kind,
      int version,
      Map<String, Double> metrics,
      ModelStatus status) {
    byte[] artifact = ModelArtifacts.pack(dir);
    String sha = ModelArtifacts.sha256(artifact);
    String artifactKey = ModelCatalog.key(name, kind, version);
    uploadChunks(artifactKey, artifact, sha);
    ModelVersion v =
        ModelVersion.newBuilder()
            .setName(name)
            .setKind(kind)
            .setVersion(version)
            .setArtifactLocation(KAFKA_SCHEME + topics.modelArtifacts() + "/" + artifactKey)
            .setSha256(sha)
            .setSizeBytes(artifact.length)
            .setMetrics(new HashMap<>(metrics))
            .setCreatedAt(Instant.now())
            .setStatus(status)
            .build();
    announce(v);
    return v;
  }

  /**
   * Like {@link #publish}, but the artifact goes to a shared folder (e.g. a volume every worker
   * mounts) and the announcement carries its {@code file://} URI: for models too large for the
   * artifact topic.
   */
  public ModelVersion publishToFolder(
      Path dir,
      Path folder,
      String name,
      ModelKind kind,
      int version,
      Map<String, Double> metrics,
      ModelStatus status) {
    byte[] artifact = ModelArtifacts.pack(dir);
    Path file =
        folder
            .toAbsolutePath()
            .resolve(ModelCatalog.key(name, kind, version).replace(':', '_') + ".zip");
    try {
      java.nio.file.Files.createDirectories(folder);
      java.nio.file.Files.write(file, artifact);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("Could not write artifact " + file, e);
    }
    ModelVersion v =
        ModelVersion.newBuilder()
            .setName(name)
            .setKind(kind)
            .setVersion(version)
            .setArtifactLocation(file.toUri().toString())
            .setSha256(ModelArtifacts.sha256(artifact))
            .setSizeBytes(artifact.length)
            .setMetrics(new HashMap<>(metrics))
            .setCreatedAt(Instant.now())
            .setStatus(status)
            .build();
    announce(v);
    return v;
  }

  /** Sends {@code v} (e.g. with a new status) as the latest state of its version. */
  public void announce(ModelVersion v) {
    try {
      announcer
          .send(
              new ProducerRecord<>(
                  topics.modelVersions(),
                  ModelCatalog.key(v.getName(), v.getKind(), v.getVersion()),
                  v))
          .get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(
          "Interrupted while announcing " + v.getName() + ":" + v.getVersion(), e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "Could not announce "
              + v.getName()
              + ":"
              + v.getVersion()
              + ": "
              + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /**
   * Announces {@code candidate} ACTIVE if {@code gate} finds it good enough to replace {@code
   * active}; otherwise it keeps its status. Returns the gate's decision, whose reason says why.
   */
  public PromotionGate.Decision promoteIfBetter(
      ModelVersion candidate, java.util.Optional<ModelVersion> active, PromotionGate gate) {
    PromotionGate.Decision decision = gate.decide(candidate, active);
    if (decision.promote()) {
      announce(
          ModelVersion.newBuilder(candidate)
              .setStatus(io.softstream.schemas.avro.ModelStatus.ACTIVE)
              .setCreatedAt(Instant.now())
              .build());
    }
    return decision;
  }

  /**
   * Test and operations hook: uploads bytes under a version's artifact key as they are (checksum
   * not recomputed).
   */
  public void uploadChunks(String artifactKey, byte[] artifact, String sha) {
    int count = Math.max(1, (artifact.length + CHUNK_BYTES - 1) / CHUNK_BYTES);
    try {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        byte[] part =
            Arrays.copyOfRange(
                artifact, i * CHUNK_BYTES, Math.min(artifact.length, (i + 1) * CHUNK_BYTES));
        RecordHeaders h = new RecordHeaders();
        h.add("chunk", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        h.add("chunks", Integer.toString(count).getBytes(StandardCharsets.UTF_8));
        h.add("sha256", sha.getBytes(StandardCharsets.UTF_8));
        acks.add(
            chunks.send(
                new ProducerRecord<>(
                    topics.modelArtifacts(),
                    null,
                    String.format("%s#%05d", artifactKey, i),
                    part,
                    h)));
      }
      for (var a : acks) {
        a.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while uploading " + artifactKey, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "Could not upload artifact " + artifactKey + ": " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /**
   * Reads the artifact of {@code v} and checks its size and SHA-256.
   *
   * @throws ArtifactException if chunks are missing or the bytes do not match the announcement
   */
  public byte[] fetch(ModelVersion v, Duration timeout) {
    String loc = v.getArtifactLocation();
    if (loc.startsWith("file:")) {
      byte[] bytes;
      try {
        bytes = java.nio.file.Files.readAllBytes(Path.of(java.net.URI.create(loc)));
      } catch (java.io.IOException | IllegalArgumentException e) {
        throw new ArtifactUnreachableException(
            "Artifact " + loc + " cannot be read: " + e.getMessage());
      }
      return verified(v, bytes);
    }
    if (!loc.startsWith(KAFKA_SCHEME)) {
      throw new ArtifactException("Artifact location " + loc + " is neither kafka:// nor file://");
    }
    String rest = loc.substring(KAFKA_SCHEME.length());
    String topic = rest.substring(0, rest.indexOf('/'));
    String key = rest.substring(rest.indexOf('/') + 1);
    Map<String, Object> c = new HashMap<>(clientProps);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * CHUNK_BYTES);
    TreeMap<Integer, byte[]> parts = new TreeMap<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      long begin;
      long end;
      Long announced;
      try {
        begin = consumer.beginningOffsets(List.of(tp), timeout).get(tp);
        end = consumer.endOffsets(List.of(tp), timeout).get(tp);
        var at =
            consumer.offsetsForTimes(Map.of(tp, v.getCreatedAt().toEpochMilli()), timeout).get(tp);
        announced = at == null ? null : at.offset();
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        throw new ArtifactUnreachableException(
            "Artifact " + loc + " cannot be reached within " + timeout + ": " + e.getMessage());
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      // The chunks are acknowledged before the announcement is made, so they lie just before the
      // first record written at its time: read from a little before there, not the whole topic
      // (every version ever published; reading it all during a swap took the serving threads'
      // CPU and heap). Only if chunks are missing there is the whole topic read.
      long chunks = (v.getSizeBytes() + CHUNK_BYTES - 1) / CHUNK_BYTES;
      long near = Math.max(begin, (announced == null ? end : announced) - chunks - 1);
      int expected = readChunks(consumer, tp, key, near, end, deadline, loc, timeout, parts);
      if ((expected < 0 || parts.size() != expected) && near > begin) {
        parts.clear();
        expected = readChunks(consumer, tp, key, begin, end, deadline, loc, timeout, parts);
      }
      if (expected < 0 || parts.size() != expected) {
        throw new ArtifactException(
            "Artifact "
                + loc
                + " is incomplete: "
                + parts.size()
                + " of "
                + (expected < 0 ? "?" : expected)
                + " chunks found");
      }
    }
    ByteBuffer all = ByteBuffer.allocate(parts.values().stream().mapToInt(b -> b.length).sum());
    parts.values().forEach(all::put);
    return verified(v, all.array());
  }

  /**
   * Reads {@code [from, end)} into {@code parts} (chunk index to bytes) for the chunks of {@code
   * key}; returns the chunk count they name, or -1 if none was found.
   */
  private static int readChunks(
      KafkaConsumer<String, byte[]> consumer,
      TopicPartition tp,
      String key,
      long from,
      long end,
      long deadline,
      String loc,
      Duration timeout,
      TreeMap<Integer, byte[]> parts) {
    int expected = -1;
    consumer.seek(tp, from);
    while (consumer.position(tp) < end && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
        if (r.key() != null && r.key().startsWith(key + "#")) {
          int i =
              Integer.parseInt(
                  new String(r.headers().lastHeader("chunk").value(), StandardCharsets.UTF_8));
          expected =
              Integer.parseInt(
                  new String(r.headers().lastHeader("chunks").value(), StandardCharsets.UTF_8));
          parts.put(i, r.value());
        }
      }
    }
    if (consumer.position(tp) < end) {
      throw new ArtifactUnreachableException(
          "Artifact "
              + loc
              + " was not read to its end ("
              + consumer.position(tp)
              + " of "
              + end
              + " records) within "
              + timeout);
    }
    return expected;
  }

  private static byte[] verified(ModelVersion v, byte[] bytes) {
    String loc = v.getArtifactLocation();
    if (bytes.length != v.getSizeBytes()) {
      throw new ArtifactException(
          "Artifact "
              + loc
              + " has "
              + bytes.length
              + " bytes; the announcement says "
              + v.getSizeBytes());
    }
    String sha = ModelArtifacts.sha256(bytes);
    if (!sha.equals(v.getSha256())) {
      throw new ArtifactException(
          "Artifact "
              + loc
              + " has sha256 "
              + sha
              + "; the announcement says "
              + v.getSha256()
              + ": refusing it");
    }
    return bytes;
  }

  @Override
  public void close() {
    announcer.close();
    chunks.close();
  }
}
