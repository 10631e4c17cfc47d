package io.softstream.cli;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import io.softstream.topology.streams.ingest.IngestGateApp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The ingest side that ChaosIT and FuzzIT put under stress, on an embedded platform: the ingest
 * gate (Kafka Streams, in this JVM) and encode workers of the shipped Fashion-MNIST model in their
 * own JVMs; and a read_committed reader of what came out, with its tally against what was sent.
 */
final class EncodePipeline {
  static final Path MODEL =
      Path.of(System.getProperty("softstream.root", ".."), "models", "softvq-fmnist-16")
          .toAbsolutePath();

  private EncodePipeline() {}

  /** The ingest gate, started, its state under {@code stateDir}, metrics on a free port. */
  static StreamsRunner startGate(EmbeddedPlatform platform, Path stateDir) throws Exception {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(StreamsSettings.STATE_DIR, stateDir.toString());
    c.put(StreamsSettings.METRICS_PORT, 0);
    StreamsRunner gate = new StreamsRunner(new StreamsSettings(c), List.of(new IngestGateApp()));
    gate.start();
    return gate;
  }

  /**
   * An encode worker (not started) of the shipped model on onnxruntime with one thread and a heap
   * capped at 512 MB, logging to {@code logDir}.
   */
  static WorkerProcess worker(String id, EmbeddedPlatform platform, Path logDir)
      throws IOException {
    return new WorkerProcess(
        id,
        List.of("-Xmx512m", "-XX:+UseSerialGC"),
        List.of(
            "--model",
            MODEL.toString(),
            "--engine",
            "onnxruntime",
            "--engine-threads",
            "1",
            "--bootstrap-servers",
            platform.bootstrapServers(),
            "--schema-registry-url",
            platform.schemaRegistryUrl()),
        logDir);
  }

  /**
   * A read_committed consumer of every partition of {@code topics}, from the beginning, without a
   * group.
   */
  static <V> KafkaConsumer<String, V> reader(
      EmbeddedPlatform platform, Deserializer<V> values, String... topics) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    KafkaConsumer<String, V> consumer = new KafkaConsumer<>(c, new StringDeserializer(), values);
    List<TopicPartition> parts = new ArrayList<>();
    for (String t : topics) {
      consumer.partitionsFor(t).forEach(i -> parts.add(new TopicPartition(t, i.partition())));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return consumer;
  }

  /**
   * Of the ids sent: how many have no record, how many more than one; and records of unsent ids.
   */
  record Tally(long lost, long duplicated, long unknown) {
    static Tally of(Set<String> sent, Map<String, Integer> recordsById) {
      return new Tally(
          sent.stream().filter(id -> !recordsById.containsKey(id)).count(),
          recordsById.values().stream().filter(n -> n > 1).count(),
          recordsById.keySet().stream().filter(id -> !sent.contains(id)).count());
    }
  }
}
