package io.softstream.topology.streams.generation;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.CompletionStatus;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.InMemorySchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GenerationAppTest {
  static final TopicLayout TOPICS = TopicLayout.defaults();
  static final Map<String, Object> SERDE = Map.of("schema.registry.url", "mock://generation-app");
  static final GenerationApp.Settings SETTINGS =
      new GenerationApp.Settings(
          4, 64, Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofMinutes(5), SERDE);
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  TopologyTestDriver driver;
  TestInputTopic<String, GenerationRequest> requests;
  TestInputTopic<String, GeneratedImage> images;
  TestOutputTopic<String, GenerationRequest> jobs;
  TestOutputTopic<String, GenerationCompletion> completions;

  @BeforeEach
  void start() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "softstream-generation");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    driver = new TopologyTestDriver(GenerationApp.topology(SETTINGS, TOPICS), p, T0);
    SchemaRegistryClient registry = InMemorySchemaRegistryClient.forScope("generation-app");
    requests =
        driver.createInputTopic(
            TOPICS.generationRequests(),
            new StringSerializer(),
            new AvroSerializer<>(registry, SERDE, false));
    images =
        driver.createInputTopic(
            TOPICS.generatedImages(),
            new StringSerializer(),
            new AvroSerializer<>(registry, SERDE, false));
    AvroDeserializer<GenerationRequest> jobDe =
        new AvroDeserializer<>(registry, GenerationRequest.class);
    jobDe.configure(SERDE, false);
    jobs = driver.createOutputTopic(TOPICS.generationJobs(), new StringDeserializer(), jobDe);
    AvroDeserializer<GenerationCompletion> doneDe =
        new AvroDeserializer<>(registry, GenerationCompletion.class);
    doneDe.configure(SERDE, false);
    completions =
        driver.createOutputTopic(TOPICS.generationCompletions(), new StringDeserializer(), doneDe);
  }

  @AfterEach
  void stop() {
    driver.close();
    InMemorySchemaRegistryClient.dropScope("generation-app");
  }

  static GenerationRequest request(String id, int count) {
    return GenerationRequest.newBuilder()
        .setRequestId(id)
        .setLabel(3)
        .setCount(count)
        .setSeed(42)
        .setSamplingSteps(10)
        .build();
  }

  static GeneratedImage image(String id, int index) {
    return GeneratedImage.newBuilder()
        .setRequestId(id)
        .setIndex(index)
        .setLabel(3)
        .setPng(ByteBuffer.wrap(new byte[] {1}))
        .setGeneratorModel("g:1")
        .setDecoderModel("d:1")
        .build();
  }

  void sendImages(String id, int... indices) {
    Instant t = T0.plusSeconds(1);
    for (int i : indices) {
      t = t.plusMillis(100);
      images.pipeInput(id, image(id, i), t);
    }
  }

  @Test
  void describeIsTheGoldenText() {
    assertThat(GenerationApp.topology(SETTINGS, TOPICS).describe().toString())
        .isEqualToIgnoringWhitespace(
            """
            Topologies:
               Sub-topology: 0
                Source: generated-images-source (topics: [generated-images])
                  --> generation-fan-out-fan-in
                Source: generation-requests-source (topics: [generation-requests])
                  --> generation-fan-out-fan-in
                Processor: generation-fan-out-fan-in (stores: [generation-fan-in-store])
                  --> generation-completions-sink, generation-jobs-sink
                  <-- generation-requests-source, generated-images-source
                Sink: generation-completions-sink (topic: generation-completions)
                  <-- generation-fan-out-fan-in
                Sink: generation-jobs-sink (topic: generation-jobs)
                  <-- generation-fan-out-fan-in
            """);
  }

  @Test
  void aLargeRequestBecomesUnitJobsWithTheParentsIdIndicesAndSeed() {
    requests.pipeInput("big", request("big", 10), T0);
    List<KeyValue<String, GenerationRequest>> out = jobs.readKeyValuesToList();

    assertThat(out).extracting(kv -> kv.key).containsExactly("big#0", "big#4", "big#8");
    assertThat(out).extracting(kv -> kv.value.getCount()).containsExactly(4, 4, 2);
    assertThat(out).extracting(kv -> kv.value.getFirstIndex()).containsExactly(0, 4, 8);
    for (KeyValue<String, GenerationRequest> kv : out) {
      assertThat(kv.value.getRequestId().toString()).isEqualTo(kv.key);
      assertThat(kv.value.getParentRequestId().toString()).isEqualTo("big");
      assertThat(kv.value.getParentCount()).isEqualTo(10);
      // The seed is the parent's; the worker derives image i's seed from it and the global index.
      assertThat(kv.value.getSeed()).isEqualTo(42);
      assertThat(kv.value.getLabel()).isEqualTo(3);
      assertThat(kv.value.getSamplingSteps()).isEqualTo(10);
    }
    requests.pipeInput("small", request("small", 3), T0);
    assertThat(jobs.readValuesToList())
        .singleElement()
        .satisfies(j -> assertThat(j.getCount()).isEqualTo(3))
        .satisfies(j -> assertThat(j.getParentRequestId().toString()).isEqualTo("small"));
  }

  @Test
  void theJobsOfOneRequestLandOnDistinctPartitions() {
    GenerationApp.JobPartitioner partitioner = new GenerationApp.JobPartitioner(4);
    for (String id : List.of("a", "b", "request-17")) {
      Set<Integer> seen = new HashSet<>();
      for (int first = 0; first < 24; first += 4) {
        GenerationRequest job =
            GenerationRequest.newBuilder(request(GenerationApp.jobKey(id, first), 4))
                .setParentRequestId(id)
                .setFirstIndex(first)
                .build();
        seen.add(partitioner.partition(job, 6));
      }
      assertThat(seen).as(id).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5);
    }
  }

  @Test
  void allImagesInAnyOrderGiveOneCompleteCompletion() {
    requests.pipeInput("r", request("r", 10), T0);
    sendImages("r", 9, 0, 5, 1, 2, 8, 3, 4, 6);
    assertThat(completions.isEmpty()).isTrue();

    sendImages("r", 7);
    GenerationCompletion c = completions.readValue();
    assertThat(c.getStatus()).isEqualTo(CompletionStatus.COMPLETE);
    assertThat(c.getCountExpected()).isEqualTo(10);
    assertThat(c.getIndicesReceived()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(c.getMissingIndices()).isEmpty();
    assertThat(c.getJobs()).isEqualTo(3);
    assertThat(c.getRequestedTime()).isEqualTo(T0);
    assertThat(c.getFirstImageTime()).isEqualTo(T0.plusMillis(1100));
    assertThat(c.getLastImageTime()).isEqualTo(T0.plusMillis(1900));
    assertThat(completions.isEmpty()).isTrue();
  }

  @Test
  void duplicatesCountOnceAndLateImagesOrARepeatedRequestGiveNoSecondCompletion() {
    requests.pipeInput("r", request("r", 3), T0);
    sendImages("r", 0, 0, 1);
    assertThat(completions.isEmpty()).isTrue();
    sendImages("r", 2);
    GenerationCompletion c = completions.readValue();
    assertThat(c.getIndicesReceived()).containsExactly(0, 1, 2);
    assertThat(c.getDuplicates()).isEqualTo(1);
    jobs.readValuesToList();

    sendImages("r", 1, 2);
    requests.pipeInput("r", request("r", 3), T0.plusSeconds(5));
    driver.advanceWallClockTime(Duration.ofMinutes(1));
    assertThat(completions.isEmpty()).isTrue();
    assertThat(jobs.isEmpty()).isTrue();
    KeyValueStore<String, FanInState> store = driver.getKeyValueStore(GenerationApp.STORE);
    assertThat(store.get("r").late).isEqualTo(2);

    // After doneRetention the state goes; nothing is emitted for it.
    driver.advanceWallClockTime(Duration.ofMinutes(5));
    assertThat(store.get("r")).isNull();
    assertThat(completions.isEmpty()).isTrue();
  }

  @Test
  void theTimeoutGivesAPartialCompletionNamingWhatIsMissing() {
    requests.pipeInput("r", request("r", 10), T0);
    sendImages("r", 0, 1, 2, 3, 8, 9);
    driver.advanceWallClockTime(Duration.ofSeconds(29));
    assertThat(completions.isEmpty()).isTrue();

    driver.advanceWallClockTime(Duration.ofSeconds(2));
    GenerationCompletion c = completions.readValue();
    assertThat(c.getStatus()).isEqualTo(CompletionStatus.PARTIAL);
    assertThat(c.getIndicesReceived()).containsExactly(0, 1, 2, 3, 8, 9);
    assertThat(c.getMissingIndices()).containsExactly(4, 5, 6, 7);
    assertThat(c.getCompletedTime()).isAfterOrEqualTo(T0.plusSeconds(30));

    // The missing job turns up late: noted, no second completion.
    sendImages("r", 4, 5, 6, 7);
    driver.advanceWallClockTime(Duration.ofSeconds(5));
    assertThat(completions.isEmpty()).isTrue();
  }

  @Test
  void aRequestWithNoImagesAtAllTimesOutNamingEveryIndex() {
    requests.pipeInput("r", request("r", 2), T0);
    driver.advanceWallClockTime(Duration.ofSeconds(31));
    GenerationCompletion c = completions.readValue();
    assertThat(c.getStatus()).isEqualTo(CompletionStatus.PARTIAL);
    assertThat(c.getMissingIndices()).containsExactly(0, 1);
    assertThat(c.getFirstImageTime()).isNull();
  }

  @Test
  void imagesBeforeTheirRequestAreKeptAndOutOfRangeOnesIgnored() {
    sendImages("r", 1, 0, 7);
    assertThat(completions.isEmpty()).isTrue();
    requests.pipeInput("r", request("r", 3), T0.plusSeconds(2));
    assertThat(completions.isEmpty()).isTrue();
    sendImages("r", 2, 3);
    GenerationCompletion c = completions.readValue();
    assertThat(c.getStatus()).isEqualTo(CompletionStatus.COMPLETE);
    assertThat(c.getIndicesReceived()).containsExactly(0, 1, 2);
    assertThat(completions.isEmpty()).isTrue();

    // Images whose request never comes are dropped at the timeout, without a completion.
    sendImages("ghost", 0);
    driver.advanceWallClockTime(Duration.ofSeconds(31));
    assertThat(completions.isEmpty()).isTrue();
    KeyValueStore<String, FanInState> store = driver.getKeyValueStore(GenerationApp.STORE);
    assertThat(store.get("ghost")).isNull();
  }

  @Test
  void aCountOutsideTheLimitsGoesOnUnsplitForTheWorkerToReject() {
    requests.pipeInput("zero", request("zero", 0), T0);
    requests.pipeInput("huge", request("huge", 65), T0);
    assertThat(jobs.readValuesToList())
        .extracting(j -> j.getRequestId().toString() + ":" + j.getCount())
        .containsExactly("zero:0", "huge:65");
    driver.advanceWallClockTime(Duration.ofMinutes(1));
    assertThat(completions.isEmpty()).isTrue();
  }

  @Test
  void theStateSurvivesItsSerde() {
    FanInState s = new FanInState();
    s.expected = 12;
    s.jobs = 3;
    s.received.set(0);
    s.received.set(11);
    s.duplicates = 2;
    s.done = true;
    FanInState back = FanInState.fromBytes(s.toBytes());
    assertThat(back.received).isEqualTo(s.received);
    assertThat(back.expected).isEqualTo(12);
    assertThat(back.duplicates).isEqualTo(2);
    assertThat(back.done).isTrue();
  }

  @Test
  void settingsRefuseValuesThatCannotWork() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                new GenerationApp.Settings(
                    0,
                    64,
                    Duration.ofSeconds(1),
                    Duration.ofSeconds(1),
                    Duration.ofSeconds(1),
                    SERDE))
        .hasMessageContaining("unitSize must be at least 1");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                new GenerationApp.Settings(
                    4, 64, Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1), SERDE))
        .hasMessageContaining("must be positive");
    assertThat(GenerationApp.Settings.defaults(SERDE).unitSize()).isEqualTo(4);
  }
}
