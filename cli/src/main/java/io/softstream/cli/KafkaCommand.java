package io.softstream.cli;

import io.softstream.embedded.EmbeddedPlatform;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs the embedded broker + registry + topics in the foreground, for development and local
 * pipelines.
 */
@Command(
    name = "kafka",
    mixinStandardHelpOptions = true,
    description =
        "Run the embedded single-node Kafka broker (KRaft) and schema registry until Ctrl-C.")
public final class KafkaCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data-dir",
      defaultValue = "data/kafka",
      description =
          "Broker data directory; a restart on it keeps all data (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--registry-port",
      defaultValue = "8081",
      description = "Schema registry port (default: ${DEFAULT-VALUE}).")
  int registryPort;

  @Mixin TopicOptions topicOptions;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    try (EmbeddedPlatform p =
        EmbeddedPlatform.start(dataDir, registryPort, topicOptions.layout())) {
      out.printf(
          "bootstrap.servers=%s%nschema.registry.url=%s%ntopics: %s%nCtrl-C to stop.%n",
          p.bootstrapServers(),
          p.schemaRegistryUrl(),
          p.layout().all().stream().map(t -> t.name()).toList());
      out.flush();
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      stop.await();
    }
    return 0;
  }
}
