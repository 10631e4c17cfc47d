package io.softstream.schemas.registry.core;

import static io.softstream.schemas.registry.CompatibilityLevel.BACKWARD;
import static io.softstream.schemas.registry.CompatibilityLevel.BACKWARD_TRANSITIVE;
import static io.softstream.schemas.registry.CompatibilityLevel.FORWARD;
import static io.softstream.schemas.registry.CompatibilityLevel.FORWARD_TRANSITIVE;
import static io.softstream.schemas.registry.CompatibilityLevel.FULL;
import static io.softstream.schemas.registry.CompatibilityLevel.FULL_TRANSITIVE;
import static io.softstream.schemas.registry.CompatibilityLevel.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.CompatibilityResult;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class RegistryCoreTest {

  static final String V1 = record("{\"name\":\"a\",\"type\":\"string\"}");

  /** V1 plus a field with a default: compatible both ways. */
  static final String V2_DEFAULT =
      record(
          "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\",\"default\":0}");

  /** V1 plus a field without default: backward-incompatible, forward-compatible. */
  static final String V2_NO_DEFAULT =
      record("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\"}");

  /** V1 minus its only field: backward-compatible, forward-incompatible ("a" has no default). */
  static final String EMPTY = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}";

  static String record(String fields) {
    return "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" + fields + "]}";
  }

  final SchemaRegistryCore core = new SchemaRegistryCore();

  @Test
  void idsStartAtOneAndAreSharedAcrossSubjects() {
    RegisteredSchema a = core.register("a-value", V1, null);
    RegisteredSchema b = core.register("b-value", V1, "AVRO");
    RegisteredSchema c = core.register("a-value", V2_DEFAULT, null);

    assertThat(a.id()).isEqualTo(1);
    assertThat(a.version()).isEqualTo(1);
    assertThat(b.id()).isEqualTo(1);
    assertThat(b.version()).isEqualTo(1);
    assertThat(c.id()).isEqualTo(2);
    assertThat(c.version()).isEqualTo(2);
    assertThat(a.guid()).isEqualTo(b.guid()).isNotEqualTo(c.guid());
    assertThat(core.subjects(false)).containsExactly("a-value", "b-value");
    assertThat(core.versions("a-value", false)).containsExactly(1, 2);
    assertThat(core.subjectVersionsForId(1, false))
        .containsExactly(
            new SchemaRegistryCore.SubjectVersion("a-value", 1),
            new SchemaRegistryCore.SubjectVersion("b-value", 1));
  }

  @Test
  void registerIsIdempotentAndWhitespaceInsensitive() {
    RegisteredSchema first = core.register("s", V1, null);
    String spaced = V1.replace(",", " ,\n  ").replace("{", "{ ").replace(":", " : ");
    RegisteredSchema again = core.register("s", spaced, null);

    assertThat(again).isEqualTo(first);
    assertThat(core.versions("s", false)).containsExactly(1);
    assertThat(core.lookup("s", spaced, null).id()).isEqualTo(1);
    assertThat(core.schemaById(1).toString()).isEqualTo(core.schemaById(1).toString().strip());
    assertThat(core.schemaById(1).toString()).doesNotContain(" ");
  }

  @Test
  void docAndDefaultChangesMakeADifferentSchema() {
    core.setCompatibility(null, NONE);
    int plain = core.register("s", V1, null).id();
    int withDoc =
        core.register("s", record("{\"name\":\"a\",\"type\":\"string\",\"doc\":\"the a\"}"), null)
            .id();
    assertThat(withDoc).isNotEqualTo(plain);
  }

  @Test
  void guidIsDeterministicAndResolves() {
    RegisteredSchema r = core.register("s", V1, null);
    SchemaRegistryCore other = new SchemaRegistryCore();
    assertThat(other.register("x", V1, null).guid()).isEqualTo(r.guid());
    assertThat(core.schemaByGuid(r.guid())).isEqualTo(r.schema());
    assertThat(core.idForGuid(r.guid())).contains(1);
    assertThat(core.idForGuid(UUID.randomUUID())).isEmpty();
  }

  @Test
  void latestAndExplicitVersions() {
    core.register("s", V1, null);
    core.register("s", V2_DEFAULT, null);
    assertThat(core.version("s", -1, false).version()).isEqualTo(2);
    assertThat(core.version("s", 1, false).id()).isEqualTo(1);
    assertThat(code(() -> core.version("s", 3, false))).isEqualTo(40402);
    assertThat(code(() -> core.version("s", 0, false))).isEqualTo(42202);
    assertThat(code(() -> core.version("nope", 1, false))).isEqualTo(40401);
    assertThat(code(() -> core.schemaById(99))).isEqualTo(40403);
    assertThat(code(() -> core.lookup("s", EMPTY, null))).isEqualTo(40403);
    assertThat(code(() -> core.lookup("nope", V1, null))).isEqualTo(40401);
  }

  @Test
  void invalidSchemasAreRefused() {
    assertThat(code(() -> core.register("s", "{\"type\":\"recrd\"}", null))).isEqualTo(42201);
    assertThat(code(() -> core.register("s", "not json", null))).isEqualTo(42201);
    assertThat(code(() -> core.register("s", V1, "PROTOBUF"))).isEqualTo(42201);
    assertThat(core.subjects(true)).isEmpty();
  }

  @Test
  void defaultLevelIsBackwardAndRefusalExplains() {
    assertThat(core.compatibility(null)).isEqualTo(BACKWARD);
    assertThat(core.compatibility("s")).isEqualTo(BACKWARD);
    core.register("s", V1, null);

    assertThatThrownBy(() -> core.register("s", V2_NO_DEFAULT, null))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> {
              assertThat(e.httpStatus()).isEqualTo(409);
              assertThat(e.errorCode()).isEqualTo(409);
            })
        .hasMessageContaining("subject 's'")
        .hasMessageContaining("READER_FIELD_MISSING_DEFAULT_VALUE")
        .hasMessageContaining("'b'");
    assertThat(core.versions("s", false)).containsExactly(1);
  }

  @Test
  void backward() {
    assertLevel(BACKWARD, List.of(V1), V2_DEFAULT, true);
    assertLevel(BACKWARD, List.of(V1), EMPTY.replace("\"R\"", "\"R\",\"namespace\":\"t\""), true);
    assertLevel(BACKWARD, List.of(V1), V2_NO_DEFAULT, false);
  }

  @Test
  void forward() {
    assertLevel(FORWARD, List.of(V1), V2_NO_DEFAULT, true);
    assertLevel(FORWARD, List.of(V1), record(""), false);
  }

  @Test
  void full() {
    assertLevel(FULL, List.of(V1), V2_DEFAULT, true);
    assertLevel(FULL, List.of(V1), V2_NO_DEFAULT, false);
    assertLevel(FULL, List.of(V1), record(""), false);
  }

  @Test
  void none() {
    assertLevel(NONE, List.of(V1), "{\"type\":\"string\"}", true);
  }

  @Test
  void transitiveLevelsCheckEveryVersionNonTransitiveOnlyTheLatest() {
    // v1 {a}, v2 {} (drops a); candidate {b} with no default for b.
    String v2 = record("");
    String candidateB = record("{\"name\":\"b\",\"type\":\"string\"}");
    // FORWARD: v2 {} can read {b}; v1 {a} cannot (a has no default).
    assertLevel(FORWARD, List.of(V1, v2), candidateB, true);
    assertLevel(FORWARD_TRANSITIVE, List.of(V1, v2), candidateB, false);
    // BACKWARD: {a} with default... candidate reads latest {} fine; v1 wrote "a" as int? use types:
    String v1Int = record("{\"name\":\"a\",\"type\":\"int\"}");
    String v2None = record("");
    String candidateAString = record("{\"name\":\"a\",\"type\":\"string\",\"default\":\"x\"}");
    // reading v2None data: a has a default → ok; reading v1Int data: int → string mismatch.
    assertLevel(BACKWARD, List.of(v1Int, v2None), candidateAString, true);
    assertLevel(BACKWARD_TRANSITIVE, List.of(v1Int, v2None), candidateAString, false);
    // FULL vs FULL_TRANSITIVE: same history, candidate with default string "a".
    assertLevel(FULL, List.of(v1Int, v2None), candidateAString, true);
    assertLevel(FULL_TRANSITIVE, List.of(v1Int, v2None), candidateAString, false);
  }

  @Test
  void testCompatibilityReportsMessagesWithoutRegistering() {
    core.register("s", V1, null);
    CompatibilityResult bad = core.testCompatibility("s", V2_NO_DEFAULT, null, -1);
    assertThat(bad.compatible()).isFalse();
    assertThat(bad.messages())
        .singleElement()
        .asString()
        .contains("READER_FIELD_MISSING_DEFAULT_VALUE");
    assertThat(core.testCompatibility("s", V2_DEFAULT, null, null).compatible()).isTrue();
    assertThat(core.testCompatibility("empty", V2_NO_DEFAULT, null, -1).compatible()).isTrue();
    assertThat(core.versions("s", false)).containsExactly(1);
  }

  @Test
  void subjectLevelOverridesGlobalAndCanBeRemoved() {
    core.setCompatibility(null, FULL);
    core.setCompatibility("s", NONE);
    assertThat(core.compatibility("s")).isEqualTo(NONE);
    assertThat(core.compatibility("t")).isEqualTo(FULL);
    assertThat(core.subjectCompatibility("t")).isEmpty();
    assertThat(core.deleteSubjectCompatibility("s")).isEqualTo(NONE);
    assertThat(core.compatibility("s")).isEqualTo(FULL);
    assertThat(code(() -> core.deleteSubjectCompatibility("s"))).isEqualTo(40408);
  }

  @Test
  void softDeleteHidesSubjectAndKeepsIdsAndNumbering() {
    core.register("s", V1, null);
    core.register("s", V2_DEFAULT, null);
    assertThat(core.deleteSubject("s")).containsExactly(1, 2);

    assertThat(core.subjects(false)).isEmpty();
    assertThat(core.subjects(true)).containsExactly("s");
    assertThat(code(() -> core.versions("s", false))).isEqualTo(40401);
    assertThat(code(() -> core.deleteSubject("s"))).isEqualTo(40404);
    assertThat(code(() -> core.deleteSubject("never"))).isEqualTo(40401);
    assertThat(core.schemaById(1)).isNotNull();
    assertThat(core.versions("s", true)).containsExactly(1, 2);
    assertThat(core.version("s", 2, true).id()).isEqualTo(2);
    assertThat(code(() -> core.version("s", 2, false))).isEqualTo(40401);

    // Compatibility is only checked against live versions, and numbering continues.
    RegisteredSchema again = core.register("s", V2_NO_DEFAULT, null);
    assertThat(again.version()).isEqualTo(3);
    assertThat(again.id()).isEqualTo(3);
  }

  @Test
  void stateIsRebuiltFromTheStoreAndStoreFailureChangesNothing() {
    List<RegistryRecord> log = new ArrayList<>();
    boolean[] fail = {false};
    RegistryStore store =
        new RegistryStore() {
          @Override
          public void replay(Consumer<RegistryRecord> sink) {
            log.forEach(sink);
          }

          @Override
          public void write(List<RegistryRecord> records) {
            if (fail[0]) {
              throw new IllegalStateException("broker down");
            }
            log.addAll(records);
          }
        };
    SchemaRegistryCore first = new SchemaRegistryCore(store);
    first.register("s", V1, null);
    first.setCompatibility("s", FORWARD);
    first.register("s", V2_NO_DEFAULT, null);
    first.register("t", V1, null);
    first.deleteSubject("t");

    fail[0] = true;
    assertThatThrownBy(() -> first.register("u", V1, null))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(50001))
        .hasMessageContaining("broker down");
    assertThat(first.subjects(true)).containsExactly("s", "t");

    SchemaRegistryCore second = new SchemaRegistryCore(store);
    assertThat(second.subjects(false)).containsExactly("s");
    assertThat(second.versions("s", false)).containsExactly(1, 2);
    assertThat(second.version("s", 2, false).id()).isEqualTo(2);
    assertThat(second.compatibility("s")).isEqualTo(FORWARD);
    assertThat(second.versions("t", true)).containsExactly(1);
    assertThat(second.maxId()).isEqualTo(2);
  }

  private void assertLevel(
      CompatibilityLevel level, List<String> history, String candidate, boolean compatible) {
    SchemaRegistryCore c = new SchemaRegistryCore();
    c.setCompatibility("s", NONE);
    history.forEach(h -> c.register("s", h, null));
    c.setCompatibility("s", level);
    CompatibilityResult result = c.testCompatibility("s", candidate, null, null);
    assertThat(result.compatible()).as(level + " " + result.messages()).isEqualTo(compatible);
    if (compatible) {
      assertThat(c.register("s", candidate, null).version()).isEqualTo(history.size() + 1);
    } else {
      assertThat(result.messages()).isNotEmpty();
      assertThat(code(() -> c.register("s", candidate, null))).isEqualTo(409);
    }
  }

  static int code(Runnable r) {
    try {
      r.run();
    } catch (SchemaRegistryException e) {
      return e.errorCode();
    }
    throw new AssertionError("expected a SchemaRegistryException");
  }
}
