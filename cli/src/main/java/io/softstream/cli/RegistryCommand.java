package io.softstream.cli;

import io.softstream.registry.SchemaRegistryServer;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The schema registry alone against any cluster (the Kubernetes and Compose deployments), where
 * {@code softstream kafka} runs it beside the embedded broker.
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = {
      "Run the Confluent-compatible schema registry against --bootstrap-servers until SIGTERM; "
          + "schemas are stored in the compacted _schemas topic (created if missing)."
    })
public final class RegistryCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;
  @Mixin TopicOptions topicOptions;

  @Option(
      names = "--host",
      defaultValue = "0.0.0.0",
      description = "Interface to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8081",
      description = "Port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--replication-factor",
      defaultValue = "1",
      description =
          "Replicas of the _schemas topic if it is created (default: ${DEFAULT-VALUE}; 3 on a cluster).")
  int replication;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Map<String, Object> props = kafka.clientProperties();
    ClusterCheck.require(props);
    // The store's clients get the pass-through settings (security); the registry URL is ours.
    Map<String, Object> client = new LinkedHashMap<>(props);
    client.remove("bootstrap.servers");
    client.remove("schema.registry.url");
    CountDownLatch stop = new CountDownLatch(1);
    try (SchemaRegistryServer server =
        SchemaRegistryServer.builder()
            .setBootstrapServers(props.get("bootstrap.servers").toString())
            .optTopic(topicOptions.layout().schemas())
            .optReplicationFactor(replication)
            .optHost(host)
            .optPort(port)
            .optKafkaConfig(client)
            .build()
            .start()) {
      Signals.onTerminate(stop::countDown);
      out.printf("schema registry ready at %s; SIGTERM to stop%n", server.url());
      out.flush();
      stop.await();
    }
    return 0;
  }
}
