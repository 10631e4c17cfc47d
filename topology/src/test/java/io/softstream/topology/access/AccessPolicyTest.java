package io.softstream.topology.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.topology.TopicLayout;
import io.softstream.topology.access.AccessPolicy.Role;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

class AccessPolicyTest {
  private static final TopicLayout LAYOUT = TopicLayout.of("t1-");

  /** The roles holding {@code op} on the literal topic {@code topic}. */
  private static Set<Role> rolesWith(AclOperation op, String topic) {
    return Arrays.stream(Role.values())
        .filter(
            r ->
                AccessPolicy.bindings(r, LAYOUT).stream()
                    .anyMatch(
                        b ->
                            b.pattern().resourceType() == ResourceType.TOPIC
                                && b.pattern().patternType() == PatternType.LITERAL
                                && b.pattern().name().equals(topic)
                                && b.entry().operation() == op))
        .collect(Collectors.toSet());
  }

  @Test
  void onlyTheTrainerWritesModelVersionsAndArtifacts() {
    assertThat(rolesWith(AclOperation.WRITE, "t1-model-versions")).containsExactly(Role.TRAINER);
    assertThat(rolesWith(AclOperation.WRITE, "t1-model-artifacts")).containsExactly(Role.TRAINER);
  }

  @Test
  void tokensAreWrittenOnlyByEncodeWorkersAndTheIngestGate() {
    assertThat(rolesWith(AclOperation.WRITE, "t1-tokens"))
        .containsExactlyInAnyOrder(Role.ENCODE_WORKER, Role.STREAMS_APPS);
    assertThat(rolesWith(AclOperation.READ, "t1-tokens"))
        .containsExactlyInAnyOrder(Role.DECODE_WORKER, Role.STREAMS_APPS, Role.TOKEN_READER);
    assertThat(rolesWith(AclOperation.WRITE, "t1-image-ingest")).containsExactly(Role.PRODUCER);
    assertThat(rolesWith(AclOperation.WRITE, "t1-_schemas")).containsExactly(Role.REGISTRY);
  }

  @Test
  void encodeWorkerReadsImagesWritesTokensAndDeadLettersWithItsOwnTransactionalIds() {
    List<AclBinding> b = AccessPolicy.bindings(Role.ENCODE_WORKER, LAYOUT);
    assertThat(b)
        .allSatisfy(
            x -> {
              assertThat(x.entry().principal()).isEqualTo("User:softstream-encode-worker");
              assertThat(x.entry().host()).isEqualTo("*");
              assertThat(x.entry().permissionType()).isEqualTo(AclPermissionType.ALLOW);
            });
    assertThat(described(b))
        .containsExactlyInAnyOrder(
            "TOPIC LITERAL t1-images READ",
            "TOPIC LITERAL t1-model-versions READ",
            "TOPIC LITERAL t1-model-artifacts READ",
            "TOPIC LITERAL t1-tokens WRITE",
            "TOPIC LITERAL t1-dead-letters WRITE",
            "GROUP LITERAL softstream-encode READ",
            "TRANSACTIONAL_ID PREFIXED softstream-encode- WRITE",
            "TRANSACTIONAL_ID PREFIXED softstream-encode- DESCRIBE");
  }

  @Test
  void noRoleButTheStreamsAppsHoldsAPrefixedTopicOrCreatesTopics() {
    for (Role r : Role.values()) {
      for (AclBinding b : AccessPolicy.bindings(r, LAYOUT)) {
        assertThat(b.entry().operation()).isNotEqualTo(AclOperation.ALL);
        assertThat(b.pattern().resourceType()).isNotEqualTo(ResourceType.CLUSTER);
        if (b.pattern().resourceType() == ResourceType.TOPIC
            && (b.pattern().patternType() == PatternType.PREFIXED
                || b.entry().operation() == AclOperation.CREATE)) {
          assertThat(r).as(b.toString()).isIn(Role.STREAMS_APPS, Role.REGISTRY);
        }
      }
    }
    // The Streams apps' own prefixes: internal topics, groups and transactional ids per app id.
    assertThat(described(AccessPolicy.bindings(Role.STREAMS_APPS, LAYOUT)))
        .contains(
            "TOPIC PREFIXED t1-softstream-ingest- CREATE",
            "GROUP LITERAL t1-softstream-ingest READ",
            "TRANSACTIONAL_ID PREFIXED t1-softstream-generation- WRITE",
            "TOPIC PREFIXED t1-softstream-stats- DELETE");
  }

  @Test
  void workersUseOnlyTheirOwnTransactionalIdsAndGroups() {
    assertThat(transactionalPrefixes(Role.DECODE_WORKER)).containsExactly("softstream-decode-");
    assertThat(transactionalPrefixes(Role.GENERATION_WORKER))
        .containsExactly("softstream-generate-");
    assertThat(transactionalPrefixes(Role.TRAINER)).isEmpty();
    assertThat(transactionalPrefixes(Role.PRODUCER)).isEmpty();
    assertThat(transactionalPrefixes(Role.TOKEN_READER)).isEmpty();
  }

  @Test
  void rolesParseFromTheirNames() {
    assertThat(Role.parse("encode-worker")).isEqualTo(Role.ENCODE_WORKER);
    assertThat(Role.parse("softstream-trainer")).isEqualTo(Role.TRAINER);
    assertThat(Role.ENCODE_WORKER.principalName()).isEqualTo("softstream-encode-worker");
  }

  private static Set<String> transactionalPrefixes(Role r) {
    return AccessPolicy.bindings(r, LAYOUT).stream()
        .filter(b -> b.pattern().resourceType() == ResourceType.TRANSACTIONAL_ID)
        .map(b -> b.pattern().name())
        .collect(Collectors.toSet());
  }

  private static List<String> described(List<AclBinding> bindings) {
    return bindings.stream()
        .map(
            b ->
                b.pattern().resourceType()
                    + " "
                    + b.pattern().patternType()
                    + " "
                    + b.pattern().name()
                    + " "
                    + b.entry().operation())
        .toList();
  }
}
