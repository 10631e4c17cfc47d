package io.softstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * TokenRecord gained {@code content_sha256} and {@code cache_hit} (the ingest gate's token cache):
 * a BACKWARD-compatible change. The registry accepts it under BACKWARD, records written with the
 * previous schema read with the new class (the new fields take their defaults), and a reader still
 * on the previous schema reads new records.
 */
class TokenRecordEvolutionTest {
  static Schema previous() throws Exception {
    try (InputStream in =
        TokenRecordEvolutionTest.class.getResourceAsStream("/schemas-v1/TokenRecord.avsc")) {
      return new Schema.Parser().parse(in);
    }
  }

  static GenericRecord oldRecord(Schema v1) {
    GenericRecord r = new GenericData.Record(v1);
    r.put("image_id", "img-1");
    r.put("model_name", "softvq");
    r.put("model_version", 3);
    r.put("token_count", 1);
    r.put("token_dim", 2);
    r.put("dtype", new GenericData.EnumSymbol(v1.getField("dtype").schema(), "FP16"));
    r.put("tokens", ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
    r.put("encode_latency_micros", 10L);
    r.put("source_topic", "images");
    r.put("source_partition", 0);
    r.put("source_offset", 5L);
    r.put("event_time", 1234L);
    return r;
  }

  @Test
  void theRegistryAcceptsTheNewVersionUnderBackwardAndOldRecordsStayReadable() throws Exception {
    Map<String, Object> conf = Map.of("schema.registry.url", "mock://token-evolution");
    SchemaRegistryClient registry = SchemaRegistryClients.create(conf);
    String subject = "tokens-value";
    Schema v1 = previous();
    registry.register(subject, v1);
    registry.setCompatibility(subject, CompatibilityLevel.BACKWARD);

    assertThat(registry.testCompatibility(subject, TokenRecord.getClassSchema()).compatible())
        .isTrue();
    assertThat(registry.register(subject, TokenRecord.getClassSchema()).version()).isEqualTo(2);

    // An old record (written with v1) read by a new consumer: defaults fill the new fields.
    byte[] old =
        new AvroSerializer<GenericRecord>(
                registry,
                Map.of(
                    "schema.registry.url",
                    "mock://token-evolution",
                    "auto.register.schemas",
                    false),
                false)
            .serialize("tokens", oldRecord(v1));
    TokenRecord read =
        new AvroDeserializer<>(registry, TokenRecord.class).deserialize("tokens", old);
    assertThat(read.getImageId()).isEqualTo("img-1");
    assertThat(read.getContentSha256()).isNull();
    assertThat(read.getCacheHit()).isFalse();
    assertThat(read.getEventTime()).isEqualTo(Instant.ofEpochMilli(1234));

    // A new record read by a consumer still on v1 (generic, resolved to v1): the new fields drop.
    TokenRecord fresh =
        TokenRecord.newBuilder(read).setContentSha256("ab".repeat(32)).setCacheHit(true).build();
    byte[] newer =
        new AvroSerializer<TokenRecord>(registry, conf, false).serialize("tokens", fresh);
    Schema writer = registry.schemaById(java.nio.ByteBuffer.wrap(newer, 1, 4).getInt());
    GenericRecord asOld =
        new org.apache.avro.generic.GenericDatumReader<GenericRecord>(writer, v1)
            .read(
                null,
                org.apache.avro.io.DecoderFactory.get()
                    .binaryDecoder(newer, 5, newer.length - 5, null));
    assertThat(asOld.get("image_id").toString()).isEqualTo("img-1");
    assertThat(asOld.getSchema().getField("content_sha256")).isNull();
  }

  /**
   * TokenRecord gained {@code encoding} (compact payloads): BACKWARD against the schema before it,
   * and a record written with that schema reads as dense FP16 tokens through {@code TokenCodec}.
   */
  @Test
  void recordsWrittenBeforeTheEncodingFieldDecodeAsDenseTokens() throws Exception {
    Schema v2;
    try (InputStream in = getClass().getResourceAsStream("/evolution/TokenRecord.v2.avsc")) {
      v2 = new Schema.Parser().parse(in);
    }
    Map<String, Object> conf = Map.of("schema.registry.url", "mock://token-encoding");
    SchemaRegistryClient registry = SchemaRegistryClients.create(conf);
    registry.register("tokens-value", v2);
    registry.setCompatibility("tokens-value", CompatibilityLevel.BACKWARD);
    assertThat(
            registry.testCompatibility("tokens-value", TokenRecord.getClassSchema()).compatible())
        .isTrue();
    GenericRecord r = oldRecord(v2);
    float[] values = {0.5f, -0.25f};
    r.put(
        "tokens",
        ByteBuffer.wrap(
            io.softstream.schemas.tokens.TokenPacking.pack(
                values, io.softstream.schemas.avro.TokenDtype.FP16)));
    r.put("cache_hit", false);
    byte[] old =
        new AvroSerializer<GenericRecord>(
                registry,
                Map.of(
                    "schema.registry.url", "mock://token-encoding", "auto.register.schemas", false),
                false)
            .serialize("tokens", r);
    TokenRecord read =
        new AvroDeserializer<>(registry, TokenRecord.class).deserialize("tokens", old);
    assertThat(read.getEncoding()).isNull();
    assertThat(io.softstream.schemas.tokens.TokenCodec.encodingOf(read).toString())
        .isEqualTo("fp16");
    assertThat(io.softstream.schemas.tokens.TokenCodec.decode(read, null)).containsExactly(values);
  }
}
