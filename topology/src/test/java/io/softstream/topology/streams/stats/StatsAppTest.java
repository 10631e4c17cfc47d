package io.softstream.topology.streams.stats;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.InMemorySchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.WindowStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StatsAppTest {
  static final TopicLayout TOPICS = TopicLayout.defaults();
  static final Map<String, Object> SERDE = Map.of("schema.registry.url", "mock://stats-app");
  static final StatsApp.Settings SETTINGS =
      new StatsApp.Settings(Duration.ofSeconds(10), Duration.ofHours(1), SERDE);
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final String TOKENS_V3 = "tokens_out|softvq:3|-|-";

  TopologyTestDriver driver;
  TestInputTopic<byte[], byte[]> images;
  TestInputTopic<String, TokenRecord> tokens;
  TestInputTopic<String, DeadLetter> dead;
  TestOutputTopic<String, String> stats;

  @BeforeEach
  void start() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "softstream-stats");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
    driver = new TopologyTestDriver(StatsApp.topology(SETTINGS, TOPICS), p, T0);
    SchemaRegistryClient registry = InMemorySchemaRegistryClient.forScope("stats-app");
    images =
        driver.createInputTopic(
            TOPICS.images(), new ByteArraySerializer(), new ByteArraySerializer());
    tokens =
        driver.createInputTopic(
            TOPICS.tokens(), new StringSerializer(), new AvroSerializer<>(registry, SERDE, false));
    dead =
        driver.createInputTopic(
            TOPICS.deadLetters(),
            new StringSerializer(),
            new AvroSerializer<>(registry, SERDE, false));
    stats =
        driver.createOutputTopic(
            TOPICS.stats(), new StringDeserializer(), new StringDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
    InMemorySchemaRegistryClient.dropScope("stats-app");
  }

  static TokenRecord token(String id, int version, Instant eventTime) {
    return TokenRecord.newBuilder()
        .setImageId(id)
        .setModelName("softvq")
        .setModelVersion(version)
        .setTokenCount(1)
        .setTokenDim(1)
        .setDtype(TokenDtype.FP32)
        .setTokens(ByteBuffer.wrap(new byte[4]))
        .setEncodeLatencyMicros(10)
        .setSourceTopic("images")
        .setSourcePartition(0)
        .setSourceOffset(0)
        .setEventTime(eventTime)
        .build();
  }

  /** A token written at {@code at} for an image captured {@code latencyMs} earlier. */
  void tokenAt(Instant at, long latencyMs, int version) {
    tokens.pipeInput("img", token("img", version, at.minusMillis(latencyMs)), at);
  }

  long count1m(String key, Instant windowStart) {
    WindowStore<String, Stat> store = driver.getWindowStore(StatsApp.STORE_1M);
    Stat s = store.fetch(key, windowStart.toEpochMilli());
    return s == null ? 0 : s.count();
  }

  @Test
  void describeIsTheGoldenText() {
    assertThat(StatsApp.topology(SETTINGS, TOPICS).describe().toString())
        .isEqualToIgnoringWhitespace(
            """
            Topologies:
               Sub-topology: 0
                Source: stats-dead-letters-source (topics: [dead-letters])
                  --> stats-dead-letters-present
                Source: stats-images-source (topics: [images])
                  --> stats-images-to-stats
                Source: stats-tokens-source (topics: [tokens])
                  --> stats-tokens-to-stats
                Processor: stats-dead-letters-present (stores: [])
                  --> stats-dead-letters-to-stats
                  <-- stats-dead-letters-source
                Processor: stats-images-to-stats (stores: [])
                  --> stats-merge-tokens
                  <-- stats-images-source
                Processor: stats-tokens-to-stats (stores: [])
                  --> stats-merge-tokens
                  <-- stats-tokens-source
                Processor: stats-dead-letters-to-stats (stores: [])
                  --> stats-merge-dead-letters
                  <-- stats-dead-letters-present
                Processor: stats-merge-tokens (stores: [])
                  --> stats-merge-dead-letters
                  <-- stats-images-to-stats, stats-tokens-to-stats
                Processor: stats-merge-dead-letters (stores: [])
                  --> stats-by-key-repartition-filter
                  <-- stats-merge-tokens, stats-dead-letters-to-stats
                Processor: stats-by-key-repartition-filter (stores: [])
                  --> stats-by-key-repartition-sink
                  <-- stats-merge-dead-letters
                Sink: stats-by-key-repartition-sink (topic: stats-by-key-repartition)
                  <-- stats-by-key-repartition-filter

              Sub-topology: 1
                Source: stats-by-key-repartition-source (topics: [stats-by-key-repartition])
                  --> stats-1m-aggregate, stats-5m-aggregate
                Processor: stats-1m-aggregate (stores: [stats-1m-store])
                  --> stats-1m-updates
                  <-- stats-by-key-repartition-source
                Processor: stats-5m-aggregate (stores: [stats-5m-store])
                  --> stats-5m-updates
                  <-- stats-by-key-repartition-source
                Processor: stats-1m-updates (stores: [])
                  --> stats-1m-to-json
                  <-- stats-1m-aggregate
                Processor: stats-5m-updates (stores: [])
                  --> stats-5m-to-json
                  <-- stats-5m-aggregate
                Processor: stats-1m-to-json (stores: [])
                  --> stats-1m-sink
                  <-- stats-1m-updates
                Processor: stats-5m-to-json (stores: [])
                  --> stats-5m-sink
                  <-- stats-5m-updates
                Sink: stats-1m-sink (topic: pipeline-stats)
                  <-- stats-1m-to-json
                Sink: stats-5m-sink (topic: pipeline-stats)
                  <-- stats-5m-to-json
            """);
  }

  @Test
  void aRecordExactlyOnAWindowBoundaryOpensTheNextWindow() {
    tokenAt(T0.plusSeconds(10), 5, 3);
    tokenAt(T0.plusSeconds(59).plusMillis(999), 5, 3);
    tokenAt(T0.plusSeconds(60), 5, 3);
    assertThat(count1m(TOKENS_V3, T0)).isEqualTo(2);
    assertThat(count1m(TOKENS_V3, T0.plusSeconds(60))).isEqualTo(1);
  }

  @Test
  void aHoppingWindowCountsARecordInEachOfItsFiveWindows() {
    tokenAt(T0.plusSeconds(30), 5, 3);
    WindowStore<String, Stat> store = driver.getWindowStore(StatsApp.STORE_5M);
    int windows = 0;
    try (var it = store.fetch(TOKENS_V3, T0.minusSeconds(600), T0.plusSeconds(600))) {
      while (it.hasNext()) {
        assertThat(it.next().value.count()).isEqualTo(1);
        windows++;
      }
    }
    assertThat(windows).isEqualTo(5);
    assertThat(store.fetch(TOKENS_V3, T0.minusSeconds(240).toEpochMilli()).count()).isEqualTo(1);
    assertThat(store.fetch(TOKENS_V3, T0.toEpochMilli()).count()).isEqualTo(1);
  }

  @Test
  void aLateRecordCountsWithinGraceAndIsDroppedAfter() {
    tokenAt(T0.plusSeconds(30), 5, 3);
    tokenAt(T0.plusSeconds(65), 5, 3); // stream time 1:05, window [0:00, 1:00) still in grace
    tokenAt(T0.plusSeconds(59), 5, 3); // late, within grace: counted
    assertThat(count1m(TOKENS_V3, T0)).isEqualTo(2);

    tokenAt(T0.plusSeconds(70), 5, 3); // stream time 1:10 = end + grace: window closed
    tokenAt(T0.plusSeconds(58), 5, 3); // too late: dropped
    assertThat(count1m(TOKENS_V3, T0)).isEqualTo(2);
    assertThat(count1m(TOKENS_V3, T0.plusSeconds(60))).isEqualTo(2);
  }

  @Test
  void latencyPercentilesOfKnownValues() {
    // 1..100 ms, in a scrambled order: p50 = 50, p95 = 95, p99 = 99 (nearest rank).
    for (int i = 0; i < 100; i++) {
      tokenAt(T0.plusSeconds(1).plusMillis(i), (i * 37) % 100 + 1, 3);
    }
    Stat s =
        driver
            .<String, Stat>getWindowStore(StatsApp.STORE_1M)
            .fetch(TOKENS_V3, 0L + T0.toEpochMilli());
    assertThat(s.count()).isEqualTo(100);
    assertThat(s.percentile(50)).isEqualTo(50);
    assertThat(s.percentile(95)).isEqualTo(95);
    assertThat(s.percentile(99)).isEqualTo(99);
    assertThat(s.percentile(100)).isEqualTo(100);

    String last = null;
    for (var kv : stats.readKeyValuesToList()) {
      if (kv.key.equals("1m|" + T0 + "|" + TOKENS_V3)) {
        last = kv.value;
      }
    }
    assertThat(last)
        .isEqualTo(
            "{\"window\":\"1m\",\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-01T00:01:00Z\","
                + "\"metric\":\"tokens_out\",\"model\":\"softvq:3\",\"worker\":\"-\",\"error_class\":\"-\","
                + "\"count\":100,\"latency_ms\":{\"samples\":100,\"p50\":50,\"p95\":95,\"p99\":99}}");
  }

  @Test
  void largeLatenciesKeepThreeSignificantDigits() {
    assertThat(Stat.bucket(999)).isEqualTo(999);
    assertThat(Stat.bucket(1234)).isEqualTo(1230);
    assertThat(Stat.bucket(98_765)).isEqualTo(98_800);
    Stat s = new Stat().add(1234).add(-1);
    assertThat(s.count()).isEqualTo(2);
    assertThat(s.latencySamples()).isEqualTo(1);
    assertThat(Stat.fromBytes(s.toBytes()).percentile(50)).isEqualTo(1230);
  }

  @Test
  void imagesTokensPerModelVersionAndDeadLettersPerErrorClassAreCountedApart() {
    images.pipeInput(new byte[] {1}, new byte[] {2}, T0.plusSeconds(1));
    images.pipeInput(null, null, T0.plusSeconds(2));
    tokenAt(T0.plusSeconds(3), 5, 3);
    tokenAt(T0.plusSeconds(3), 5, 4);
    tokenAt(T0.plusSeconds(3), 5, 4);
    for (String cls : new String[] {"UndecodableImage", "UndecodableImage", "OversizedPayload"}) {
      dead.pipeInput(
          "k",
          DeadLetter.newBuilder()
              .setOriginalTopic("images")
              .setOriginalPartition(0)
              .setOriginalOffset(1)
              .setErrorClass(cls)
              .setReason("r")
              .setWorkerId("enc-1")
              .setTime(T0)
              .build(),
          T0.plusSeconds(4));
    }
    assertThat(count1m("images_in|-|-|-", T0)).isEqualTo(2);
    assertThat(count1m(TOKENS_V3, T0)).isEqualTo(1);
    assertThat(count1m("tokens_out|softvq:4|-|-", T0)).isEqualTo(2);
    assertThat(count1m("cache_hits|softvq:4|-|-", T0)).isZero();
    assertThat(count1m("dead_letters|-|enc-1|UndecodableImage", T0)).isEqualTo(2);
    assertThat(count1m("dead_letters|-|enc-1|OversizedPayload", T0)).isEqualTo(1);
  }

  @Test
  void cacheHitsAndWorkerAreReadByNameWhenTheSchemaHasThem() {
    Schema withHit =
        SchemaBuilder.record("T")
            .fields()
            .requiredBoolean("cache_hit")
            .optionalString("worker_id")
            .endRecord();
    GenericData.Record r = new GenericData.Record(withHit);
    r.put("cache_hit", true);
    r.put("worker_id", "enc-2");
    assertThat(StatsApp.field(r, StatsApp.CACHE_HIT_FIELD)).isEqualTo(true);
    assertThat(StatsApp.field(r, StatsApp.WORKER_FIELD)).isEqualTo("enc-2");
    // TokenRecord has the field now (false unless the ingest gate answered from its cache).
    assertThat(StatsApp.field(token("i", 1, T0), StatsApp.CACHE_HIT_FIELD)).isEqualTo(false);
  }

  @Test
  void theQueryHandlerAnswersFromTheWindowStores() {
    tokenAt(T0.plusSeconds(5), 7, 3);
    images.pipeInput(new byte[] {1}, new byte[] {2}, T0.plusSeconds(6));
    StatsQueries q =
        new StatsQueries(driver::getWindowStore, Clock.fixed(T0.plusSeconds(90), ZoneOffset.UTC));

    StatsQueries.Response one = q.handle("/stats/1m?minutes=5");
    assertThat(one.status()).isEqualTo(200);
    assertThat(one.json())
        .startsWith("[{")
        .contains("\"metric\":\"images_in\"", "\"metric\":\"tokens_out\"", "\"p50\":7");
    assertThat(q.handle("/stats/5m").json()).contains("\"window\":\"5m\"");
    assertThat(q.handle("/stats/1h").status()).isEqualTo(404);
    assertThat(q.handle("/stats/1m?minutes=zero").status()).isEqualTo(400);
    // Windows that started before the asked range are left out.
    assertThat(
            new StatsQueries(
                    driver::getWindowStore, Clock.fixed(T0.plusSeconds(3600), ZoneOffset.UTC))
                .handle("/stats/1m?minutes=5")
                .json())
        .isEqualTo("[]");
  }
}
