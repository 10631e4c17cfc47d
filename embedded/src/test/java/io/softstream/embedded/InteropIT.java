package io.softstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Our serde, registry and broker against each other and against clients we did not write: Debian's
 * python3-confluent-kafka (with python3-avro) and kcat.
 */
class InteropIT extends PlatformIT {
  static final String PYTHON = "/usr/bin/python3";
  final ObjectMapper json = new ObjectMapper();

  @Test
  void recordsRoundTripThroughBrokerAndRegistryInATransaction() throws Exception {
    TopicLayout t = freshTopics();
    List<TokenRecord> sent = tokenRecords(50, 1);
    Map<String, RecordMetadata> meta = produce(t.tokens(), sent, TokenRecord::getImageId, true);
    List<ConsumerRecord<String, TokenRecord>> got = consume(t.tokens(), TokenRecord.class, 50);

    assertThat(got).hasSize(50);
    Map<String, TokenRecord> byKey = new HashMap<>();
    got.forEach(r -> byKey.put(r.key(), r.value()));
    for (TokenRecord s : sent) {
      assertThat(byKey.get(s.getImageId())).isEqualTo(s);
    }
    for (ConsumerRecord<String, TokenRecord> r : got) {
      assertThat(r.offset()).isEqualTo(meta.get(r.key()).offset());
      assertThat(r.partition()).isEqualTo(meta.get(r.key()).partition());
    }
    try (SchemaRegistryClient registry =
        SchemaRegistryClients.create(platform.clientProperties())) {
      assertThat(registry.subjects()).contains(t.tokens() + "-value");
      assertThat(registry.versions(t.tokens() + "-value")).containsExactly(1);
    }
  }

  @Test
  void pythonConfluentKafkaReadsOurRecordsWithTheSameFieldValues() throws Exception {
    TopicLayout t = freshTopics();
    List<TokenRecord> sent = tokenRecords(20, 2);
    produce(t.tokens(), sent, TokenRecord::getImageId, false);

    String out =
        Proc.run(
            List.of(
                PYTHON,
                script(),
                "consume",
                platform.bootstrapServers(),
                platform.schemaRegistryUrl(),
                t.tokens(),
                "20"),
            120);

    Map<String, JsonNode> byKey = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      JsonNode n = json.readTree(line);
      byKey.put(n.get("key").asText(), n.get("value"));
    }
    assertThat(byKey).hasSize(20);
    for (TokenRecord s : sent) {
      JsonNode v = byKey.get(s.getImageId());
      assertThat(v.get("image_id").asText()).isEqualTo(s.getImageId());
      assertThat(v.get("model_name").asText()).isEqualTo(s.getModelName());
      assertThat(v.get("model_version").asInt()).isEqualTo(s.getModelVersion());
      assertThat(v.get("token_count").asInt()).isEqualTo(s.getTokenCount());
      assertThat(v.get("token_dim").asInt()).isEqualTo(s.getTokenDim());
      assertThat(v.get("dtype").asText()).isEqualTo(s.getDtype().name());
      assertThat(Base64.getDecoder().decode(v.get("tokens").get("b64").asText()))
          .isEqualTo(bytes(s.getTokens()));
      List<Integer> codes = new ArrayList<>();
      v.get("code_indices").forEach(c -> codes.add(c.asInt()));
      assertThat(codes).isEqualTo(s.getCodeIndices());
      assertThat(v.get("encode_latency_micros").asLong()).isEqualTo(s.getEncodeLatencyMicros());
      assertThat(v.get("source_offset").asLong()).isEqualTo(s.getSourceOffset());
      assertThat(v.get("event_time").asLong()).isEqualTo(s.getEventTime().toEpochMilli());
    }
  }

  @Test
  void weReadWhatPythonsAvroProducerRegisteredAndWrote() throws Exception {
    TopicLayout t = freshTopics();
    Path schema = Files.createTempFile("GenerationRequest", ".avsc");
    Files.writeString(schema, GenerationRequest.getClassSchema().toString());
    Proc.run(
        List.of(
            PYTHON,
            script(),
            "produce",
            platform.bootstrapServers(),
            platform.schemaRegistryUrl(),
            t.generationRequests(),
            "10",
            schema.toString()),
        120);

    List<ConsumerRecord<String, GenerationRequest>> got =
        consume(t.generationRequests(), GenerationRequest.class, 10);
    assertThat(got).hasSize(10);
    for (ConsumerRecord<String, GenerationRequest> r : got) {
      GenerationRequest g = r.value();
      int i = Integer.parseInt(g.getRequestId().substring(3));
      assertThat(g.getLabel()).isEqualTo(i % 10);
      assertThat(g.getPrompt()).isNull();
      assertThat(g.getCount()).isEqualTo(i + 1);
      assertThat(g.getSeed()).isEqualTo(1000L + i);
      assertThat(g.getGuidanceScale()).isEqualTo(2.5f);
      assertThat(g.getSamplingSteps()).isEqualTo(25);
    }
  }

  @Test
  void kcatReadsTheRawTopicWithOurKeysOffsetsAndFraming() throws Exception {
    TopicLayout t = freshTopics();
    List<ImageEvent> sent = new ArrayList<>();
    Random r = new Random(3);
    for (int i = 0; i < 15; i++) {
      byte[] img = new byte[100 + r.nextInt(400)];
      r.nextBytes(img);
      sent.add(
          ImageEvent.newBuilder()
              .setId("img-" + i)
              .setSource("kcat-test")
              .setContentType("image/png")
              .setImageBytes(ByteBuffer.wrap(img))
              .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + i))
              .build());
    }
    Map<String, RecordMetadata> meta = produce(t.images(), sent, ImageEvent::getId, false);

    // %S = value size; the hex of the first 5 bytes shows the Confluent framing (magic 0 + schema
    // id).
    String out =
        Proc.run(
            List.of(
                "kcat",
                "-b",
                platform.bootstrapServers(),
                "-C",
                "-t",
                t.images(),
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k %p %o %S\\n"),
            60);
    String[] lines = out.strip().split("\n");
    assertThat(lines).hasSize(15);
    for (String line : lines) {
      String[] f = line.split(" ");
      RecordMetadata m = meta.get(f[0]);
      assertThat(m).as("key %s", f[0]).isNotNull();
      assertThat(Integer.parseInt(f[1])).isEqualTo(m.partition());
      assertThat(Long.parseLong(f[2])).isEqualTo(m.offset());
      assertThat(Integer.parseInt(f[3])).isEqualTo(m.serializedValueSize());
    }
    // The raw bytes of one record, via kcat's binary output: magic byte 0, then our schema id.
    String hex =
        Proc.run(
            List.of(
                "bash",
                "-c",
                "kcat -b "
                    + platform.bootstrapServers()
                    + " -C -t "
                    + t.images()
                    + " -o beginning -c 1 -e -q -f '%s' | head -c 5 | od -An -tx1 | tr -d ' \\n'"),
            60);
    try (SchemaRegistryClient registry =
        SchemaRegistryClients.create(platform.clientProperties())) {
      int id = registry.lookup(t.images() + "-value", ImageEvent.getClassSchema()).id();
      assertThat(hex).isEqualTo(String.format("00%08x", id));
    }
  }

  private String script() {
    return Path.of("src/test/resources/python/avro_interop.py").toAbsolutePath().toString();
  }

  static List<TokenRecord> tokenRecords(int n, long seed) {
    Random r = new Random(seed);
    List<TokenRecord> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int count = 32;
      int dim = 8;
      boolean fp16 = r.nextBoolean();
      byte[] tokens = new byte[count * dim * (fp16 ? 2 : 4)];
      r.nextBytes(tokens);
      List<Integer> codes = new ArrayList<>();
      for (int k = 0; k < count; k++) {
        codes.add(r.nextInt(1024));
      }
      out.add(
          TokenRecord.newBuilder()
              .setImageId("img-" + seed + "-" + i)
              .setModelName("softvq-fmnist")
              .setModelVersion(1 + r.nextInt(3))
              .setTokenCount(count)
              .setTokenDim(dim)
              .setDtype(fp16 ? TokenDtype.FP16 : TokenDtype.FP32)
              .setTokens(ByteBuffer.wrap(tokens))
              .setCodeIndices(codes)
              .setEncodeLatencyMicros(r.nextInt(100_000))
              .setSourceTopic("images")
              .setSourcePartition(r.nextInt(6))
              .setSourceOffset(i)
              .setEventTime(Instant.ofEpochMilli(1_750_000_000_000L + i))
              .build());
    }
    return out;
  }

  private <T extends SpecificRecord> Map<String, RecordMetadata> produce(
      String topic,
      List<T> records,
      java.util.function.Function<T, String> key,
      boolean transactional)
      throws Exception {
    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    if (transactional) {
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-" + topic);
    }
    Map<String, RecordMetadata> meta = new HashMap<>();
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, T> producer =
            new KafkaProducer<>(
                p,
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      if (transactional) {
        producer.initTransactions();
        producer.beginTransaction();
      }
      List<java.util.concurrent.Future<RecordMetadata>> futures = new ArrayList<>();
      for (T rec : records) {
        futures.add(producer.send(new ProducerRecord<>(topic, key.apply(rec), rec)));
      }
      if (transactional) {
        producer.commitTransaction();
      }
      for (int i = 0; i < records.size(); i++) {
        meta.put(key.apply(records.get(i)), futures.get(i).get());
      }
    }
    return meta;
  }

  static <T extends SpecificRecord> List<ConsumerRecord<String, T>> consume(
      String topic, Class<T> type, int n) {
    Map<String, Object> c = new HashMap<>(platform.clientProperties());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, T>> out = new ArrayList<>();
    try (SchemaRegistryClient registry =
        SchemaRegistryClients.create(platform.clientProperties())) {
      Deserializer<T> de = new AvroDeserializer<>(registry, type);
      try (KafkaConsumer<String, T> consumer =
          new KafkaConsumer<>(c, new StringDeserializer(), de)) {
        consumer.subscribe(List.of(topic));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (out.size() < n && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(300)).forEach(out::add);
        }
        // a little longer, to catch duplicates
        consumer.poll(Duration.ofMillis(500)).forEach(out::add);
      }
    }
    return out;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }
}
