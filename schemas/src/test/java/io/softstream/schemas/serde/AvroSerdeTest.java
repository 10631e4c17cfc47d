package io.softstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryUnavailableException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {
  static final List<Class<? extends SpecificRecord>> ALL =
      List.of(
          ImageEvent.class,
          TokenRecord.class,
          GenerationRequest.class,
          GeneratedImage.class,
          ModelVersion.class,
          DeadLetter.class,
          GenerationCompletion.class);

  static Map<String, Object> config(String scope) {
    return Map.of("schema.registry.url", "mock://" + scope);
  }

  @Property(tries = 60)
  void everySchemaRoundTripsAndTheWireBytesFollowTheDocumentedLayout(@ForAll long seed) {
    Random r = new Random(seed);
    Class<? extends SpecificRecord> type = ALL.get(Math.floorMod(seed, ALL.size()));
    roundTrip(type, r);
  }

  private <T extends SpecificRecord> void roundTrip(Class<T> type, Random r) {
    Schema schema = org.apache.avro.specific.SpecificData.get().getSchema(type);
    GenericRecord generic = RandomRecords.generic(schema, r);
    T record = RandomRecords.specific(generic, type);
    SchemaRegistryClient client = SchemaRegistryClients.create(config("roundtrip"));
    AvroSerializer<T> ser = new AvroSerializer<>(client, config("roundtrip"), false);
    AvroDeserializer<T> de = new AvroDeserializer<>(client, type);
    de.configure(config("roundtrip"), false);

    String topic = "topic-" + type.getSimpleName();
    byte[] wire = ser.serialize(topic, record);

    int id = client.lookup(topic + "-value", schema).id();
    assertThat(wire[0]).isEqualTo((byte) 0);
    assertThat(ByteBuffer.wrap(wire, 1, 4).getInt()).isEqualTo(id);
    assertThat(Arrays.copyOfRange(wire, 5, wire.length))
        .isEqualTo(RandomRecords.avroBinary(generic));
    assertThat(de.deserialize(topic, wire)).isEqualTo(record);
  }

  @Test
  void v0BytesAreExactlyMagicThenBigEndianIdThenAvro() {
    SchemaRegistryClient client = SchemaRegistryClients.create(config("layout"));
    // Take up a few ids so ours has more than one significant byte pattern to check.
    for (int i = 0; i < 3; i++) {
      client.register(
          "filler-" + i, SchemaBuilder.record("F" + i).fields().requiredInt("x").endRecord());
    }
    GenerationRequest req =
        GenerationRequest.newBuilder()
            .setRequestId("r1")
            .setLabel(7)
            .setPrompt(null)
            .setCount(2)
            .setSeed(42)
            .setGuidanceScale(1.5f)
            .setSamplingSteps(20)
            .build();
    byte[] wire =
        new AvroSerializer<GenerationRequest>(client, config("layout"), false)
            .serialize("gen", req);
    int id = client.lookup("gen-value", GenerationRequest.getClassSchema()).id();
    assertThat(id).isGreaterThan(3);
    byte[] expectedHead = {0, (byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id};
    assertThat(Arrays.copyOf(wire, 5)).isEqualTo(expectedHead);
    // request_id "r1": zig-zag length 2 -> 0x04, 'r', '1'; label union branch 1 -> 0x02, 7 -> 0x0e;
    // prompt null -> 0x00
    assertThat(Arrays.copyOfRange(wire, 5, 11)).containsExactly(0x04, 'r', '1', 0x02, 0x0e, 0x00);
  }

  @Test
  void readsTheGuidPrefixAndTheSchemaIdHeaderLayouts() {
    SchemaRegistryClient client = SchemaRegistryClients.create(config("guid"));
    ImageEvent e =
        ImageEvent.newBuilder()
            .setId("img-1")
            .setSource("cam")
            .setContentType("image/png")
            .setImageBytes(ByteBuffer.wrap(new byte[] {1, 2, 3}))
            .setEventTime(Instant.ofEpochMilli(1234))
            .setAttributes(Map.of("k", "v"))
            .build();
    byte[] v0 =
        new AvroSerializer<ImageEvent>(client, config("guid"), false).serialize("images", e);
    RegisteredSchema reg = client.lookup("images-value", ImageEvent.getClassSchema());
    assertThat(reg.guid()).isNotNull();
    byte[] avro = Arrays.copyOfRange(v0, 5, v0.length);
    AvroDeserializer<ImageEvent> de = new AvroDeserializer<>(client, ImageEvent.class);
    de.configure(config("guid"), false);

    byte[] v1 = WireFormat.encodeV1(reg.guid(), avro);
    assertThat(v1[0]).isEqualTo((byte) 1);
    assertThat(de.deserialize("images", v1)).isEqualTo(e);

    RecordHeaders headers = new RecordHeaders();
    headers.add(WireFormat.VALUE_SCHEMA_ID_HEADER, WireFormat.guidBytes(reg.guid()));
    assertThat(de.deserialize("images", headers, avro)).isEqualTo(e);
  }

  @Test
  void recordNameStrategyUsesTheFullRecordNameAsSubject() {
    Map<String, Object> cfg =
        Map.of(
            "schema.registry.url",
            "mock://rns",
            "value.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy");
    SchemaRegistryClient client = SchemaRegistryClients.create(cfg);
    DeadLetter dl =
        DeadLetter.newBuilder()
            .setOriginalTopic("images")
            .setOriginalPartition(1)
            .setOriginalOffset(7)
            .setErrorClass("UndecodableImage")
            .setReason("not an image")
            .setWorkerId("w1")
            .setTime(Instant.ofEpochMilli(5))
            .build();
    new AvroSerializer<DeadLetter>(client, cfg, false).serialize("anything", dl);
    assertThat(client.subjects()).contains("io.softstream.schemas.avro.DeadLetter");
  }

  @Test
  void anOlderWriterSchemaIsResolvedToTheGeneratedClass() {
    // ImageEvent as a first version without the optional fields, written by an older producer.
    Schema v1 =
        SchemaBuilder.record("ImageEvent")
            .namespace("io.softstream.schemas.avro")
            .fields()
            .requiredString("id")
            .requiredString("source")
            .requiredString("content_type")
            .requiredBytes("image_bytes")
            .name("event_time")
            .type(
                org.apache.avro.LogicalTypes.timestampMillis()
                    .addToSchema(Schema.create(Schema.Type.LONG)))
            .noDefault()
            .endRecord();
    SchemaRegistryClient client = SchemaRegistryClients.create(config("evolve"));
    GenericRecord old = new GenericData.Record(v1);
    old.put("id", "a");
    old.put("source", "s");
    old.put("content_type", "image/png");
    old.put("image_bytes", ByteBuffer.wrap(new byte[] {9}));
    old.put("event_time", 77L);
    byte[] wire =
        new AvroSerializer<GenericRecord>(client, config("evolve"), false).serialize("images", old);
    AvroDeserializer<ImageEvent> de = new AvroDeserializer<>(client, ImageEvent.class);
    de.configure(config("evolve"), false);
    ImageEvent read = de.deserialize("images", wire);
    assertThat(read.getId()).isEqualTo("a");
    assertThat(read.getWidth()).isNull();
    assertThat(read.getAttributes()).isEmpty();
    assertThat(read.getEventTime()).isEqualTo(Instant.ofEpochMilli(77));
  }

  @Test
  void badInputGivesTypedExceptionsWithClearMessages() {
    SchemaRegistryClient client = SchemaRegistryClients.create(config("bad"));
    AvroDeserializer<ImageEvent> de = new AvroDeserializer<>(client, ImageEvent.class);
    de.configure(config("bad"), false);
    ImageEvent e =
        ImageEvent.newBuilder()
            .setId("x")
            .setSource("s")
            .setContentType("image/png")
            .setImageBytes(ByteBuffer.wrap(new byte[100]))
            .setEventTime(Instant.EPOCH)
            .build();
    byte[] good =
        new AvroSerializer<ImageEvent>(client, config("bad"), false).serialize("images", e);

    byte[] wrongMagic = good.clone();
    wrongMagic[0] = 7;
    assertThatThrownBy(() -> de.deserialize("images", wrongMagic))
        .isInstanceOf(UnknownMagicByteException.class)
        .hasMessageContaining("0x07")
        .hasMessageContaining("topic images");

    byte[] unknownId = good.clone();
    ByteBuffer.wrap(unknownId).putInt(1, 987_654);
    assertThatThrownBy(() -> de.deserialize("images", unknownId))
        .isInstanceOf(UnknownSchemaException.class)
        .hasMessageContaining("schema id 987654");

    assertThatThrownBy(() -> de.deserialize("images", new byte[] {0, 0, 1}))
        .isInstanceOf(TruncatedRecordException.class)
        .hasMessageContaining("has 3 bytes");
    assertThatThrownBy(() -> de.deserialize("images", Arrays.copyOf(good, good.length - 50)))
        .isInstanceOf(TruncatedRecordException.class)
        .hasMessageContaining("ends early");
    assertThatThrownBy(
            () -> de.deserialize("images", "plain text".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(SerializationException.class);

    // The id's length prefix (byte 5, zigzag varint) replaced by 2^40, as FuzzIT sends.
    byte[] huge = new byte[good.length + 5];
    System.arraycopy(good, 0, huge, 0, 5);
    byte[] len = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40};
    System.arraycopy(len, 0, huge, 5, len.length);
    System.arraycopy(good, 6, huge, 11, good.length - 6);
    assertThatThrownBy(() -> de.deserialize("images", huge))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("Could not decode");
  }

  @Test
  void registryDownIsARetriableErrorNamingTheUrl() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Map<String, Object> cfg =
        Map.of(
            "schema.registry.url",
            "http://127.0.0.1:" + port,
            "schema.registry.retries",
            1,
            "schema.registry.request.timeout.ms",
            2000);
    AvroDeserializer<ImageEvent> de = new AvroDeserializer<>();
    de.configure(cfg, false);
    byte[] wire = WireFormat.encodeV0(1, new byte[] {2, 'x'});
    assertThatThrownBy(() -> de.deserialize("images", wire))
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .isInstanceOf(org.apache.kafka.common.errors.RetriableException.class)
        .hasMessageContaining("127.0.0.1:" + port);
  }

  @Test
  void serializingWithoutConfigureSaysWhatToDo() {
    assertThatThrownBy(() -> new AvroSerializer<ImageEvent>().serialize("t", new ImageEvent()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("configure()");
  }
}
