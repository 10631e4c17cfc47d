package io.softstream.cli;

import io.softstream.topology.TopicLayout;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The Kubernetes path (deploy/): renders what the manifests take from the code. */
@Command(
    name = "deploy",
    mixinStandardHelpOptions = true,
    description = "Kubernetes manifests (deploy/k8s): see deploy/README.md.",
    subcommands = {DeployCommand.Render.class})
public final class DeployCommand {

  @Command(
      name = "render",
      mixinStandardHelpOptions = true,
      description = {
        "Write one Strimzi KafkaTopic per topic of the layout and one KafkaUser per role with its "
            + "ACLs (AccessPolicy) into the Kustomize base, so the manifests follow the code.",
        "--check compares instead of writing: exit 1 and the stale files if they differ."
      })
  static final class Render implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TopicOptions topicOptions;

    @Option(
        names = "--out",
        paramLabel = "DIR",
        description = "Folder to write to (default: deploy/k8s/base/generated under the checkout).")
    Path out;

    @Option(
        names = "--replication-factor",
        defaultValue = "3",
        description =
            "Replicas of every topic; 3 gives min.insync.replicas 2 (default: ${DEFAULT-VALUE}).")
    int replication;

    @Option(
        names = "--cluster",
        defaultValue = DeployManifests.CLUSTER,
        description = "Name of the Strimzi Kafka resource (default: ${DEFAULT-VALUE}).")
    String cluster;

    @Option(names = "--check", description = "Compare with the files instead of writing them.")
    boolean check;

    @Override
    public Integer call() throws IOException {
      if (replication < 1) {
        throw new IllegalArgumentException("--replication-factor must be at least 1");
      }
      PrintWriter pw = spec.commandLine().getOut();
      Path dir = out != null ? out : defaultDir();
      TopicLayout layout = topicOptions.layout().withReplication(replication);
      int stale = 0;
      for (Map.Entry<String, String> f : DeployManifests.render(layout, cluster).entrySet()) {
        Path file = dir.resolve(f.getKey());
        String now = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        if (check) {
          if (!now.equals(f.getValue())) {
            stale++;
            pw.printf("stale: %s (run ./softstream deploy render)%n", file);
          }
        } else {
          Files.createDirectories(dir);
          Files.writeString(file, f.getValue(), StandardCharsets.UTF_8);
          pw.printf("%s %s%n", now.equals(f.getValue()) ? "unchanged" : "wrote", file);
        }
      }
      if (check && stale == 0) {
        pw.println("up to date: " + dir);
      }
      pw.flush();
      return stale == 0 ? 0 : 1;
    }

    static Path defaultDir() {
      return ShippedModels.root().resolve("deploy/k8s/base/generated");
    }
  }
}
