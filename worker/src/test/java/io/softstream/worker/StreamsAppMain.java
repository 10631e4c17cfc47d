package io.softstream.worker;

import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsSettings;
import io.softstream.topology.streams.generation.GenerationApp;
import io.softstream.topology.streams.ingest.IngestGateApp;
import io.softstream.topology.streams.stats.StatsApp;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * Runs one Kafka Streams app in its own JVM, so a test can kill it with SIGKILL (no clean close, no
 * commit, no checkpoint). Arguments: app (generation|stats|ingest), bootstrap servers, registry
 * URL, topic prefix, application id, state dir. Stands in for the shared runner, which is not this
 * test's subject; the ingest gate gets the runner's {@link StreamsSettings} properties underneath
 * these.
 */
public final class StreamsAppMain {
  private StreamsAppMain() {}

  /** The Streams properties the ITs run with: exactly_once_v2, quick commits and failover. */
  static Properties props(String bootstrap, String appId, String stateDir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    // A killed instance's group membership and open transaction must not hold the restart up long.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 5000);
    return p;
  }

  /** The ingest gate's settings (its topology and Streams properties come from them). */
  static StreamsSettings ingestSettings(String bootstrap, String registryUrl, TopicLayout topics) {
    return new StreamsSettings(
        Map.of(
            StreamsSettings.BOOTSTRAP_SERVERS,
            bootstrap,
            StreamsSettings.SCHEMA_REGISTRY_URL,
            registryUrl,
            StreamsSettings.TOPIC_PREFIX,
            topics.prefix()));
  }

  static Topology topology(String app, String bootstrap, String registryUrl, TopicLayout topics) {
    Map<String, Object> serde = Map.of("schema.registry.url", registryUrl);
    return switch (app) {
      case "ingest" -> new IngestGateApp().topology(ingestSettings(bootstrap, registryUrl, topics));
      case "generation" ->
          GenerationApp.topology(
              new GenerationApp.Settings(
                  4,
                  64,
                  Duration.ofMinutes(2),
                  Duration.ofMillis(200),
                  Duration.ofMinutes(10),
                  serde),
              topics);
      case "stats" -> StatsApp.topology(StatsApp.Settings.defaults(serde), topics);
      default -> throw new IllegalArgumentException("unknown app " + app);
    };
  }

  public static void main(String[] args) throws InterruptedException {
    TopicLayout topics = TopicLayout.of(args[3]);
    Properties props = new Properties();
    if (args[0].equals(IngestGateApp.NAME)) {
      // The gate's dead-letter handlers and limits, as the runner sets them.
      props.putAll(ingestSettings(args[1], args[2], topics).streamsProperties(IngestGateApp.NAME));
    }
    props.putAll(props(args[1], args[4], args[5]));
    KafkaStreams streams = new KafkaStreams(topology(args[0], args[1], args[2], topics), props);
    streams.setUncaughtExceptionHandler(
        e -> {
          e.printStackTrace();
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    // The ITs read this line to tell that state came back from the changelog.
    streams.setGlobalStateRestoreListener(
        new StateRestoreListener() {
          @Override
          public void onRestoreStart(TopicPartition tp, String store, long start, long end) {}

          @Override
          public void onBatchRestored(TopicPartition tp, String store, long end, long n) {}

          @Override
          public void onRestoreEnd(TopicPartition tp, String store, long total) {
            System.out.println("restored " + store + " " + total);
          }
        });
    streams.start();
    System.out.println("started " + args[0]);
    Thread.currentThread().join();
  }
}
