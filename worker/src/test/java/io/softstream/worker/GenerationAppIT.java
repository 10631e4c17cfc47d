package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.CompletionStatus;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.generation.GenerationApp;
import io.softstream.worker.generation.GenerationSettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The generation app on a real broker under exactly_once_v2, with and without real workers. */
class GenerationAppIT extends StreamsAppIT {
  static Path generator;

  @BeforeAll
  static void tinyGenerator() throws Exception {
    generator = TestImages.tinyGenerator(dir.resolve("generator"));
  }

  static GenerationRequest request(String id, int count) {
    return GenerationRequest.newBuilder()
        .setRequestId(id)
        .setLabel(5)
        .setCount(count)
        .setSeed(42)
        .setGuidanceScale(3f)
        .setSamplingSteps(4)
        .build();
  }

  static GeneratedImage image(String id, int index) {
    return GeneratedImage.newBuilder()
        .setRequestId(id)
        .setIndex(index)
        .setLabel(5)
        .setPng(ByteBuffer.wrap(new byte[] {1}))
        .setGeneratorModel("g:1")
        .setDecoderModel("d:1")
        .build();
  }

  static List<GeneratedImage> images(String id, int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> image(id, i)).toList();
  }

  @Test
  void killedMidStreamAndRestartedTheAppWritesEveryJobAndCompletionExactlyOnce() throws Exception {
    TopicLayout t = freshTopics();
    String appId = t.prefix() + "softstream-generation";
    List<GenerationRequest> reqs =
        IntStream.range(0, 20).mapToObj(i -> request("r" + i, 8)).toList();
    App first = launch("generation", t, appId);
    try {
      produce(t.generationRequests(), reqs, r -> r.getRequestId().toString());
      List<GeneratedImage> firstHalf = new ArrayList<>();
      for (GenerationRequest r : reqs) {
        firstHalf.addAll(images(r.getRequestId().toString(), 0, 4));
      }
      produce(t.generatedImages(), firstHalf, g -> g.getRequestId().toString());
      // Some work committed, the rest in flight: kill without any chance to close.
      assertThat(
              readCommitted(
                  t.generationJobs(), GenerationRequest.class, 10, Duration.ofSeconds(60)))
          .hasSizeGreaterThanOrEqualTo(10);
    } finally {
      kill9(first);
    }
    List<GeneratedImage> rest = new ArrayList<>();
    for (GenerationRequest r : reqs) {
      rest.add(image(r.getRequestId().toString(), 0)); // a duplicate, counted once
      rest.addAll(images(r.getRequestId().toString(), 4, 8));
    }
    produce(t.generatedImages(), rest, g -> g.getRequestId().toString());
    // A fresh state dir: whatever the first instance had committed comes from the changelog.
    App second = launch("generation", t, appId);
    try {
      List<ConsumerRecord<String, GenerationCompletion>> done =
          readCommitted(
              t.generationCompletions(), GenerationCompletion.class, 20, Duration.ofSeconds(90));
      List<ConsumerRecord<String, GenerationRequest>> jobs =
          readCommitted(t.generationJobs(), GenerationRequest.class, 40, Duration.ofSeconds(10));

      assertThat(jobs).hasSize(40);
      assertThat(jobs.stream().map(ConsumerRecord::key).collect(Collectors.toSet())).hasSize(40);
      assertThat(done).hasSize(20);
      assertThat(done.stream().map(ConsumerRecord::key).collect(Collectors.toSet())).hasSize(20);
      for (ConsumerRecord<String, GenerationCompletion> c : done) {
        assertThat(c.value().getStatus()).isEqualTo(CompletionStatus.COMPLETE);
        assertThat(c.value().getIndicesReceived()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        // The first half counted once across the crash: only the one resent index 0 is a
        // duplicate.
        assertThat(c.value().getDuplicates()).isEqualTo(1);
      }
      assertThat(second.restored(GenerationApp.STORE)).isPositive();
    } finally {
      kill9(second);
    }
  }

  @Test
  void oneBigRequestIsServedByTwoWorkersAndCompletesWithEveryIndexOnce() throws Exception {
    TopicLayout t = freshTopics();
    List<GenerateWorker> workers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    GenerationApp.Settings settings =
        new GenerationApp.Settings(
            2,
            64,
            Duration.ofMinutes(2),
            Duration.ofMillis(200),
            Duration.ofMinutes(10),
            Map.of("schema.registry.url", platform.schemaRegistryUrl()));
    try (KafkaStreams app =
        new KafkaStreams(
            GenerationApp.topology(settings, t),
            StreamsAppMain.props(
                platform.bootstrapServers(),
                t.prefix() + "softstream-generation",
                Files.createTempDirectory(dir, "gen-state-").toString()))) {
      app.start();
      for (String id : List.of("gen-a", "gen-b")) {
        Map<String, Object> props = workerProps(t, id);
        props.put(GenerationSettings.GENERATOR_DIR, generator.toString());
        props.put(GenerationSettings.MAX_COUNT, 16);
        props.put(GenerationSettings.INPUT_TOPIC, t.generationJobs());
        GenerateWorker w = new GenerateWorker(new WorkerConfig(props));
        workers.add(w);
        threads.add(runInBackground(w));
      }
      // Both workers own some of the six job partitions before the request goes in.
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline
          && (workers.get(0).assignment().isEmpty()
              || workers.get(1).assignment().isEmpty()
              || workers.get(0).assignment().size() + workers.get(1).assignment().size() != 6)) {
        Thread.sleep(100);
      }
      assertThat(workers.get(0).assignment()).isNotEmpty();
      assertThat(workers.get(1).assignment()).isNotEmpty();

      produce(t.generationRequests(), List.of(request("big", 12)), r -> "big");
      // The same request unsplit, straight to one worker: the split must not change the images.
      produce(t.generationJobs(), List.of(request("whole", 12)), r -> "whole");

      List<ConsumerRecord<String, GenerationCompletion>> done =
          readCommitted(
              t.generationCompletions(), GenerationCompletion.class, 1, Duration.ofSeconds(90));
      List<ConsumerRecord<String, GeneratedImage>> images =
          readCommitted(t.generatedImages(), GeneratedImage.class, 24, Duration.ofSeconds(60));

      assertThat(done).singleElement().satisfies(c -> assertThat(c.key()).isEqualTo("big"));
      GenerationCompletion c = done.get(0).value();
      assertThat(c.getStatus()).isEqualTo(CompletionStatus.COMPLETE);
      assertThat(c.getIndicesReceived())
          .containsExactlyElementsOf(IntStream.range(0, 12).boxed().toList());
      assertThat(c.getDuplicates()).isZero();
      assertThat(c.getJobs()).isEqualTo(6);

      Map<Integer, GeneratedImage> big = new TreeMap<>();
      Map<Integer, GeneratedImage> whole = new TreeMap<>();
      for (ConsumerRecord<String, GeneratedImage> r : images) {
        GeneratedImage g = r.value();
        assertThat(r.key()).isEqualTo(g.getRequestId().toString());
        Map<Integer, GeneratedImage> m = r.key().equals("big") ? big : whole;
        assertThat(m.put(g.getIndex(), g))
            .as("index %d of %s once", g.getIndex(), r.key())
            .isNull();
      }
      assertThat(big.keySet()).isEqualTo(whole.keySet()).hasSize(12);
      for (int i = 0; i < 12; i++) {
        assertThat(big.get(i).getJobId().toString()).isEqualTo("big#" + (i / 2 * 2));
        assertThat(whole.get(i).getJobId()).isNull();
        assertThat(floats(big.get(i).getTokens()))
            .as("tokens of image %d", i)
            .containsExactly(
                floats(whole.get(i).getTokens()), org.assertj.core.data.Offset.offset(1e-4f));
      }
      // Both workers took a share of the jobs.
      assertThat(workers.get(0).metrics().recordsInCount()).isGreaterThan(0);
      assertThat(workers.get(1).metrics().recordsInCount()).isGreaterThan(0);
    } finally {
      for (GenerateWorker w : workers) {
        w.close();
      }
      for (Thread th : threads) {
        th.join(30_000);
      }
    }
  }

  static float[] floats(ByteBuffer b) {
    ByteBuffer d = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] f = new float[d.remaining() / 4];
    d.asFloatBuffer().get(f);
    return f;
  }
}
