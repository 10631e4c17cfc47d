package io.softstream.topology.streams.similarity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.InMemorySchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.topology.TopicLayout;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The similarity app on a synthetic set: three classes of token vectors around three centres,
 * written as fp16 and int8 records; the nearest ten of a query near one centre are that class.
 */
class SimilarityAppTest {
  static final TopicLayout TOPICS = TopicLayout.defaults();
  static final Map<String, Object> SERDE = Map.of("schema.registry.url", "mock://similarity-app");
  static final int N = 4, D = 8;

  TopologyTestDriver driver;
  TestInputTopic<String, TokenRecord> tokens;
  SimilarityQueries queries;
  final ObjectMapper json = new ObjectMapper();

  @BeforeEach
  void start() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "softstream-similarity");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    driver = new TopologyTestDriver(SimilarityApp.topology(SERDE, TOPICS), p);
    SchemaRegistryClient registry = InMemorySchemaRegistryClient.forScope("similarity-app");
    tokens =
        driver.createInputTopic(
            TOPICS.tokens(), new StringSerializer(), new AvroSerializer<>(registry, SERDE, false));
    queries =
        new SimilarityQueries(
            () -> driver.<String, TokenRecord>getKeyValueStore(SimilarityApp.STORE));
  }

  @AfterEach
  void stop() {
    driver.close();
    InMemorySchemaRegistryClient.dropScope("similarity-app");
  }

  static TokenRecord record(String id, int version, float[] v, String encoding, Codebook cb) {
    TokenRecord.Builder b =
        TokenRecord.newBuilder()
            .setImageId(id)
            .setModelName("softvq")
            .setModelVersion(version)
            .setTokenCount(N)
            .setTokenDim(D)
            .setEncodeLatencyMicros(1)
            .setSourceTopic("images")
            .setSourcePartition(0)
            .setSourceOffset(0);
    return TokenCodec.fill(b, v, N, D, TokenCodec.Encoding.parse(encoding), cb).build();
  }

  static float[] around(float[] centre, Random r) {
    float[] v = centre.clone();
    for (int i = 0; i < v.length; i++) {
      v[i] += 0.3f * (float) r.nextGaussian();
    }
    return v;
  }

  @Test
  void answersTheNearestImagesOfTheQueriedModelVersion() throws Exception {
    Random r = new Random(11);
    float[][] centres = new float[3][N * D];
    for (float[] c : centres) {
      for (int i = 0; i < c.length; i++) {
        c[i] = (float) r.nextGaussian();
      }
    }
    for (int cls = 0; cls < 3; cls++) {
      for (int i = 0; i < 12; i++) {
        String id = "c" + cls + "-" + i;
        tokens.pipeInput(
            id, record(id, 2, around(centres[cls], r), i % 2 == 0 ? "fp16" : "int8", null));
      }
    }
    // Another version's tokens are not comparable, and a topk record needs the codebook: both out.
    tokens.pipeInput("old", record("old", 1, centres[0], "fp16", null));
    float[] raw = new float[2 * 4 * D];
    Arrays.fill(raw, 1f);
    Codebook cb = Codebook.normalise(2, 4, D, raw);
    tokens.pipeInput("sparse", record("sparse", 2, centres[0], "topk:2", cb));
    // A newer record replaces an image's tokens: c2-0 moves to class 0.
    tokens.pipeInput("c2-0", record("c2-0", 2, around(centres[0], r), "fp16", null));

    StringBuilder q =
        new StringBuilder("{\"model\":\"softvq\",\"version\":2,\"k\":10,\"tokens\":[");
    float[] query = around(centres[0], r);
    for (int i = 0; i < query.length; i++) {
      q.append(i == 0 ? "" : ",").append(query[i]);
    }
    SimilarityQueries.Response resp = queries.handle(q.append("]}").toString());
    assertThat(resp.status()).isEqualTo(200);
    JsonNode a = json.readTree(resp.json());
    assertThat(a.get("indexed").asInt()).isEqualTo(36);
    assertThat(a.get("skipped").asInt()).isEqualTo(1);
    assertThat(a.get("hits")).hasSize(10);
    double last = 1;
    for (JsonNode h : a.get("hits")) {
      String id = h.get("id").asText();
      assertThat(id.startsWith("c0-") || id.equals("c2-0")).as(id).isTrue();
      assertThat(h.get("cosine").asDouble()).isLessThanOrEqualTo(last).isGreaterThan(0.5);
      last = h.get("cosine").asDouble();
    }
    assertThat(queries.handle("{\"model\":\"softvq\"}").status()).isEqualTo(400);
  }

  @Test
  void topologyIsAsDescribed() {
    assertThat(SimilarityApp.topology(SERDE, TOPICS).describe().toString().strip())
        .isEqualTo(
            """
            Topologies:
               Sub-topology: 0
                Source: similarity-tokens-source (topics: [tokens])
                  --> similarity-tokens
                Processor: similarity-tokens (stores: [similarity-tokens-store])
                  --> none
                  <-- similarity-tokens-source"""
                .strip());
  }
}
