package io.softstream.cli;

import io.softstream.topology.TopicAdmin;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.TopicSpec;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints the topic layout, and with {@code --ensure} creates or validates it on a cluster. */
@Command(
    name = "topics",
    mixinStandardHelpOptions = true,
    description =
        "Show the declared topic layout; --ensure creates missing topics and checks existing ones.")
public final class TopicsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--ensure",
      description = "Create missing topics and validate existing ones on the cluster.")
  boolean ensure;

  @Mixin TopicOptions topicOptions;

  @Option(
      names = "--replication-factor",
      defaultValue = "1",
      description = "Replicas per topic (default: ${DEFAULT-VALUE}).")
  int replication;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    TopicLayout layout = topicOptions.layout().withReplication(replication);
    out.printf(
        "%-24s %5s %3s %-8s %14s %10s  %s%n",
        "topic", "parts", "rf", "cleanup", "retention.ms", "max.bytes", "purpose");
    for (TopicSpec t : layout.all()) {
      out.printf(
          "%-24s %5d %3d %-8s %14d %10d  %s%n",
          t.name(),
          t.partitions(),
          t.replicationFactor(),
          t.cleanupPolicy(),
          t.retentionMs(),
          t.maxMessageBytes(),
          t.purpose());
    }
    if (ensure) {
      ClusterCheck.require(kafka.clientProperties());
      try (Admin admin = Admin.create(kafka.clientProperties())) {
        TopicAdmin.Report r = TopicAdmin.ensure(admin, layout.all());
        out.printf("created %s; already present %s%n", r.created(), r.existing());
        r.warnings().forEach(w -> out.println("warning: " + w));
      }
    }
    return 0;
  }
}
