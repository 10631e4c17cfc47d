package io.softstream.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.core.RegistryRecord.ConfigRecord;
import io.softstream.schemas.registry.core.RegistryRecord.SchemaRecord;
import org.junit.jupiter.api.Test;

/** The JSON layout of records in the schema topic (Confluent's own layout). */
class RegistryStoreFormatTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void schemaRecordsRoundTripInConfluentsLayout() throws Exception {
    SchemaRecord r = new SchemaRecord("s-value", 2, 7, "{\"type\":\"string\"}", true);
    String[] kv = KafkaRegistryStore.encode(r);
    assertThat(JSON.readTree(kv[0]))
        .isEqualTo(
            JSON.readTree(
                "{\"keytype\":\"SCHEMA\",\"subject\":\"s-value\",\"version\":2,\"magic\":1}"));
    assertThat(JSON.readTree(kv[1]))
        .isEqualTo(
            JSON.readTree(
                "{\"subject\":\"s-value\",\"version\":2,\"id\":7,\"schema\":\"{\\\"type\\\":\\\"string\\\"}\","
                    + "\"deleted\":true}"));
    assertThat(KafkaRegistryStore.decode(kv[0], kv[1], 0)).isEqualTo(r);
  }

  @Test
  void configRecordsRoundTripAndATombstoneRemovesTheLevel() throws Exception {
    ConfigRecord global = new ConfigRecord(null, CompatibilityLevel.FULL_TRANSITIVE);
    String[] kv = KafkaRegistryStore.encode(global);
    assertThat(JSON.readTree(kv[0]))
        .isEqualTo(JSON.readTree("{\"keytype\":\"CONFIG\",\"subject\":null,\"magic\":0}"));
    assertThat(kv[1]).isEqualTo("{\"compatibilityLevel\":\"FULL_TRANSITIVE\"}");
    assertThat(KafkaRegistryStore.decode(kv[0], kv[1], 0)).isEqualTo(global);

    String[] removal = KafkaRegistryStore.encode(new ConfigRecord("s", null));
    assertThat(removal[1]).isNull();
    assertThat(KafkaRegistryStore.decode(removal[0], null, 1))
        .isEqualTo(new ConfigRecord("s", null));
  }

  @Test
  void foreignRecordTypesAreSkippedAndNewerFormatsRefused() {
    assertThat(KafkaRegistryStore.decode("{\"keytype\":\"NOOP\",\"magic\":0}", null, 3)).isNull();
    assertThat(
            KafkaRegistryStore.decode(
                "{\"keytype\":\"SCHEMA\",\"subject\":\"p\",\"version\":1,\"magic\":1}",
                "{\"subject\":\"p\",\"version\":1,\"id\":1,\"schema\":\"syntax = \\\"proto3\\\";\","
                    + "\"schemaType\":\"PROTOBUF\",\"deleted\":false}",
                4))
        .isNull();
    assertThatThrownBy(
            () -> KafkaRegistryStore.decode("{\"keytype\":\"SCHEMA\",\"magic\":9}", "{}", 5))
        .hasMessageContaining("magic=9")
        .hasMessageContaining("offset 5");
  }
}
