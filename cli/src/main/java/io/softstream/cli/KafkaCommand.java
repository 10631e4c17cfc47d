package io.softstream.cli;

import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.topology.access.AccessPolicy.Role;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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

  @Option(
      names = "--port",
      defaultValue = "9092",
      description =
          "Broker port where clients look by default (default: ${DEFAULT-VALUE}); if it is taken, "
              + "a free port (printed); a restart on the same --data-dir keeps its port.")
  int port;

  @Option(
      names = "--secure",
      description =
          "SASL/SCRAM over TLS with least-privilege ACLs per role, and the registry over HTTPS with "
              + "basic auth; certificate and passwords generated in <data-dir>/secure on first "
              + "start, one client settings file per role written there (see docs/security.md).")
  boolean secure;

  @Option(
      names = "--brokers",
      defaultValue = "1",
      description =
          "Broker processes: 1 (default) or a KRaft cluster of N, e.g. 3 (replication factor "
              + "min(N, 3), min.insync.replicas 2, data in <data-dir>/kafka-cluster, free ports).")
  int brokers;

  @Mixin TopicOptions topicOptions;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    if (brokers > 1) {
      if (secure) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--secure runs on one broker only; drop --brokers or --secure");
      }
      try (EmbeddedPlatform p =
          EmbeddedPlatform.startCluster(
              dataDir,
              brokers,
              registryPort,
              topicOptions.layout().withReplication(Math.min(brokers, 3)))) {
        return serve(p, out);
      }
    }
    boolean restart = Files.exists(dataDir.resolve("kafka").resolve("ports.properties"));
    // A restart keeps the port recorded in the data directory.
    int brokerPort = 0;
    if (!restart && port != 0) {
      if (isFree(port)) {
        brokerPort = port;
      } else {
        out.printf("port %d is taken: using a free port (the exports below name it)%n", port);
      }
    }
    try (EmbeddedPlatform p =
        secure
            ? EmbeddedPlatform.startSecure(dataDir, brokerPort, registryPort, topicOptions.layout())
            : EmbeddedPlatform.start(dataDir, brokerPort, registryPort, topicOptions.layout())) {
      return serve(p, out);
    }
  }

  private static int serve(EmbeddedPlatform p, PrintWriter out) throws InterruptedException {
    // Every other command reads these two variables: paste them into the shells that run them.
    out.printf(
        "export BOOTSTRAP_SERVERS=%s%nexport SCHEMA_REGISTRY_URL=%s%ntopics: %s%n",
        p.bootstrapServers(),
        p.schemaRegistryUrl(),
        p.layout().all().stream().map(t -> t.name()).toList());
    if (p.security().isPresent()) {
      Map<Role, Path> files =
          p.security().get().writeClientFiles(p.bootstrapServers(), p.schemaRegistryUrl());
      out.printf(
          "secure: SASL_SSL (SCRAM-SHA-512) and ACLs per role; each role's client settings "
              + "(owner-only files), for --client-config FILE or SOFTSTREAM_CLIENT_CONFIG:%n");
      files.forEach((role, f) -> out.printf("  %-29s %s%n", role.principalName(), f));
    }
    out.println("Ctrl-C to stop.");
    out.flush();
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
    stop.await();
    return 0;
  }

  static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
