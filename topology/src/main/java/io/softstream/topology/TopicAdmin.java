package io.softstream.topology;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates missing topics and validates existing ones against their {@link TopicSpec}. Idempotent:
 * run it on every start of every component.
 */
public final class TopicAdmin {
  private static final Logger log = LoggerFactory.getLogger(TopicAdmin.class);

  /** What {@link #ensure} did. */
  public record Report(List<String> created, List<String> existing, List<String> warnings) {}

  /** A topic exists with a shape the system cannot work with. */
  public static class TopicMismatchException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public TopicMismatchException(String message) {
      super(message);
    }
  }

  private TopicAdmin() {}

  /**
   * Creates each topic in {@code specs} that does not exist; checks each that does. More partitions
   * than declared is fine (operators add partitions to scale); fewer, or another cleanup policy, is
   * an error naming the topic and the fix.
   *
   * @throws TopicMismatchException if an existing topic contradicts its spec
   */
  public static Report ensure(Admin admin, Collection<TopicSpec> specs) {
    try {
      int brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<String> created = new ArrayList<>();
      List<String> present = new ArrayList<>();
      List<String> warnings = new ArrayList<>();
      List<NewTopic> toCreate = new ArrayList<>();
      for (TopicSpec s : specs) {
        if (existing.contains(s.name())) {
          present.add(s.name());
        } else {
          short rf = (short) Math.min(s.replicationFactor(), brokers);
          if (rf < s.replicationFactor()) {
            warnings.add(
                s.name()
                    + ": replication "
                    + rf
                    + " (cluster has "
                    + brokers
                    + " broker(s), spec wants "
                    + s.replicationFactor()
                    + ")");
          }
          Map<String, String> configs = new java.util.LinkedHashMap<>(s.configs());
          if (rf < 2) {
            configs.remove("min.insync.replicas");
          }
          toCreate.add(new NewTopic(s.name(), s.partitions(), rf).configs(configs));
        }
      }
      for (NewTopic t : toCreate) {
        try {
          admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
          created.add(t.name());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
          present.add(t.name()); // another component created it meanwhile
        }
      }
      awaitLeaders(admin, created);
      if (!present.isEmpty()) {
        validate(admin, specs.stream().filter(s -> present.contains(s.name())).toList(), warnings);
      }
      if (!created.isEmpty()) {
        log.info("Created topics {}", created);
      }
      warnings.forEach(w -> log.warn("Topic check: {}", w));
      return new Report(created, present, warnings);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "Could not create or check topics: " + e.getCause().getMessage(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(
          "Timed out creating or checking topics: is the cluster reachable?", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while creating topics", e);
    }
  }

  /**
   * Waits until a broker reports every partition of each new topic with a leader: createTopics
   * returns once the controller has the topic, and a Streams app started before the brokers know it
   * fails for good ("no partitions available ... when initializing global store").
   */
  private static void awaitLeaders(Admin admin, List<String> topics)
      throws InterruptedException, java.util.concurrent.TimeoutException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!topics.isEmpty()) {
      try {
        Map<String, TopicDescription> desc =
            admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
        if (desc.values().stream()
            .allMatch(
                d ->
                    !d.partitions().isEmpty()
                        && d.partitions().stream().allMatch(p -> p.leader() != null))) {
          return;
        }
      } catch (ExecutionException e) {
        // UnknownTopicOrPartition: the broker asked has not caught up yet.
      }
      if (System.nanoTime() > deadline) {
        throw new java.util.concurrent.TimeoutException(
            "topics " + topics + " created, but no broker reported their leaders within 30 s");
      }
      Thread.sleep(50);
    }
  }

  private static void validate(Admin admin, List<TopicSpec> specs, List<String> warnings)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    Map<String, TopicDescription> desc =
        admin
            .describeTopics(specs.stream().map(TopicSpec::name).toList())
            .allTopicNames()
            .get(30, TimeUnit.SECONDS);
    Map<ConfigResource, Config> configs =
        admin
            .describeConfigs(
                specs.stream()
                    .map(s -> new ConfigResource(ConfigResource.Type.TOPIC, s.name()))
                    .toList())
            .all()
            .get(30, TimeUnit.SECONDS);
    List<String> errors = new ArrayList<>();
    for (TopicSpec s : specs) {
      int partitions = desc.get(s.name()).partitions().size();
      if (partitions < s.partitions()) {
        errors.add(
            s.name()
                + " has "
                + partitions
                + " partitions, fewer than the "
                + s.partitions()
                + " declared: add partitions with kafka-topics --alter --partitions "
                + s.partitions());
      } else if (partitions > s.partitions()) {
        warnings.add(
            s.name()
                + " has "
                + partitions
                + " partitions (declared "
                + s.partitions()
                + "): fine, more "
                + "workers can share it");
      }
      Config c = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, s.name()));
      String policy = c.get("cleanup.policy") == null ? "delete" : c.get("cleanup.policy").value();
      Set<String> policies =
          Set.of(policy.split(",")).stream().map(String::trim).collect(Collectors.toSet());
      if (!policies.contains(s.cleanupPolicy())) {
        errors.add(
            s.name()
                + " has cleanup.policy="
                + policy
                + " but must be "
                + s.cleanupPolicy()
                + (s.compacted()
                    ? " (the latest record per key is the state; deleting it loses state)"
                    : "")
                + ": fix with kafka-configs --alter --add-config cleanup.policy="
                + s.cleanupPolicy());
      }
    }
    if (!errors.isEmpty()) {
      throw new TopicMismatchException(
          "Existing topics do not match the declared layout:\n  - "
              + String.join("\n  - ", errors));
    }
  }
}
