package io.softstream.topology.access;

import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsApps;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Who may do what on the cluster, declared once: one principal per role, each with the least
 * privilege its code needs. The secure embedded broker installs exactly these bindings and the
 * Kubernetes manifests render them as KafkaUser ACLs, so declaration and enforcement cannot drift.
 *
 * <p>Names follow the code that forms them: a worker's consumer group is {@code softstream-<role>}
 * and its transactional.id {@code softstream-<role>-<worker.id>} (WorkerConfig); a Streams app's
 * application.id, consumer group, transactional ids and internal topics all start with {@code
 * <topic.prefix>softstream-<app>} (StreamsSettings). Topic names come from the {@link TopicLayout}.
 * Reading a topic implies describing it; idempotent producers need only WRITE on their topics.
 */
public final class AccessPolicy {

  /** A role of the system and its principal ({@code User:<principalName>}). */
  public enum Role {
    ENCODE_WORKER("softstream-encode-worker"),
    DECODE_WORKER("softstream-decode-worker"),
    GENERATION_WORKER("softstream-generation-worker"),
    STREAMS_APPS("softstream-streams"),
    TRAINER("softstream-trainer"),
    REGISTRY("softstream-registry"),
    PRODUCER("softstream-producer"),
    TOKEN_READER("softstream-token-reader");

    private final String principalName;

    Role(String principalName) {
      this.principalName = principalName;
    }

    /** The SASL user name of this role, e.g. {@code softstream-encode-worker}. */
    public String principalName() {
      return principalName;
    }

    /** {@code User:<principalName>}, as ACLs name it. */
    public String principal() {
      return "User:" + principalName;
    }

    /** The role for a name such as {@code encode-worker} or {@code ENCODE_WORKER}. */
    public static Role parse(String name) {
      String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
      for (Role r : values()) {
        if (r.name().equals(n) || r.principalName.equalsIgnoreCase(name.trim())) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "No role " + name + "; known: " + List.of(values()).stream().map(Role::name).toList());
    }
  }

  /** Group prefix the Python token reader uses when no group is given ({@code reader.py}). */
  public static final String TOKEN_READER_GROUP_PREFIX = "softstream-tokens-";

  private AccessPolicy() {}

  /** The ACL bindings of {@code role} for the topics of {@code layout}. */
  public static List<AclBinding> bindings(Role role, TopicLayout layout) {
    Acls a = new Acls(role);
    switch (role) {
      case ENCODE_WORKER -> worker(a, layout, "encode", List.of(layout.images()), layout.tokens());
      case DECODE_WORKER ->
          worker(a, layout, "decode", List.of(layout.tokens()), layout.reconstructions());
      case GENERATION_WORKER ->
          worker(
              a,
              layout,
              "generate",
              // Requests directly, or the unit jobs the generation app fans them out to.
              List.of(layout.generationRequests(), layout.generationJobs()),
              layout.generatedImages());
      case STREAMS_APPS -> {
        a.topics(
            AclOperation.READ,
            layout.ingest(),
            layout.images(),
            layout.tokens(),
            layout.deadLetters(),
            layout.modelVersions(),
            layout.generationRequests(),
            layout.generatedImages());
        a.topics(
            AclOperation.WRITE,
            layout.images(),
            layout.tokens(),
            layout.deadLetters(),
            layout.generationJobs(),
            layout.generationCompletions(),
            layout.stats());
        for (StreamsApp app : StreamsApps.all()) {
          String id = layout.prefix() + "softstream-" + app.name();
          // Internal (repartition, changelog) topics are created, purged and checked by the app.
          for (AclOperation op :
              List.of(
                  AclOperation.CREATE,
                  AclOperation.DELETE,
                  AclOperation.READ,
                  AclOperation.WRITE,
                  AclOperation.DESCRIBE,
                  AclOperation.DESCRIBE_CONFIGS)) {
            a.add(ResourceType.TOPIC, id + "-", PatternType.PREFIXED, op);
          }
          a.add(ResourceType.GROUP, id, PatternType.LITERAL, AclOperation.READ);
          a.transactionalIds(id + "-");
        }
      }
      case TRAINER -> {
        a.topics(AclOperation.READ, layout.modelVersions(), layout.modelArtifacts());
        // train --from-topic reads the images by assignment (no group), to retrain on what flows.
        a.topics(AclOperation.READ, layout.images());
        a.topics(AclOperation.WRITE, layout.modelVersions(), layout.modelArtifacts());
      }
      case REGISTRY -> {
        for (AclOperation op :
            List.of(
                AclOperation.CREATE,
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DESCRIBE,
                AclOperation.DESCRIBE_CONFIGS)) {
          a.add(ResourceType.TOPIC, layout.schemas(), PatternType.LITERAL, op);
        }
      }
      case PRODUCER -> {
        a.topics(AclOperation.WRITE, layout.ingest(), layout.images());
        // softstream send sizes its requests from the topic's max.message.bytes.
        a.topics(AclOperation.DESCRIBE_CONFIGS, layout.ingest(), layout.images());
      }
      case TOKEN_READER -> {
        a.topics(AclOperation.READ, layout.tokens());
        a.add(
            ResourceType.GROUP, TOKEN_READER_GROUP_PREFIX, PatternType.PREFIXED, AclOperation.READ);
      }
    }
    return List.copyOf(a.out);
  }

  /** Every role's bindings, for a broker or a manifest that installs them all. */
  public static List<AclBinding> all(TopicLayout layout) {
    List<AclBinding> out = new ArrayList<>();
    for (Role r : Role.values()) {
      out.addAll(bindings(r, layout));
    }
    return out;
  }

  /**
   * A worker of {@code role} (WorkerConfig's role name): reads its inputs in group {@code
   * softstream-<role>}, writes its output and dead letters in transactions with its own ids only,
   * and follows the model catalog (model.watch).
   */
  private static void worker(
      Acls a, TopicLayout layout, String role, List<String> inputs, String output) {
    a.topics(AclOperation.READ, inputs.toArray(String[]::new));
    a.topics(AclOperation.READ, layout.modelVersions(), layout.modelArtifacts());
    a.topics(AclOperation.WRITE, output, layout.deadLetters());
    a.add(ResourceType.GROUP, "softstream-" + role, PatternType.LITERAL, AclOperation.READ);
    a.transactionalIds("softstream-" + role + "-");
  }

  /** Collects ALLOW bindings for one principal from any host. */
  private static final class Acls {
    private final String principal;
    private final List<AclBinding> out = new ArrayList<>();

    Acls(Role role) {
      this.principal = role.principal();
    }

    void add(ResourceType type, String name, PatternType pattern, AclOperation op) {
      out.add(
          new AclBinding(
              new ResourcePattern(type, name, pattern),
              new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)));
    }

    void topics(AclOperation op, String... topics) {
      for (String t : topics) {
        add(ResourceType.TOPIC, t, PatternType.LITERAL, op);
      }
    }

    /** WRITE (begin/commit transactions) and DESCRIBE on transactional ids starting so. */
    void transactionalIds(String prefix) {
      add(ResourceType.TRANSACTIONAL_ID, prefix, PatternType.PREFIXED, AclOperation.WRITE);
      add(ResourceType.TRANSACTIONAL_ID, prefix, PatternType.PREFIXED, AclOperation.DESCRIBE);
    }
  }
}
