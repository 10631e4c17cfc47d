package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.models.ModelRegistry;
import io.softstream.worker.generation.GenerationSettings;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation requests, good and bad, through a real generation worker on the embedded broker. */
class GenerateWorkerIT extends WorkerIT {
  static Path generator;

  @BeforeAll
  static void tinyGenerator() throws Exception {
    generator = TestImages.tinyGenerator(dir.resolve("generator"));
  }

  static GenerationRequest request(
      String id, Integer label, String prompt, int count, long seed, float guidance, int steps) {
    return GenerationRequest.newBuilder()
        .setRequestId(id)
        .setLabel(label)
        .setPrompt(prompt)
        .setCount(count)
        .setSeed(seed)
        .setGuidanceScale(guidance)
        .setSamplingSteps(steps)
        .build();
  }

  static void produceRequests(String topic, List<GenerationRequest> reqs) throws Exception {
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, GenerationRequest> p =
            new KafkaProducer<>(
                platform.clientProperties(),
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      for (GenerationRequest r : reqs) {
        p.send(new ProducerRecord<>(topic, r.getRequestId().toString(), r));
      }
      p.flush();
    }
  }

  static Map<String, Object> generateProps(TopicLayout t, String workerId) {
    Map<String, Object> props = workerProps(t, workerId);
    props.put(GenerationSettings.GENERATOR_DIR, generator.toString());
    props.put(GenerationSettings.MAX_COUNT, 8);
    props.put(WorkerConfig.BATCH_MAX_RECORDS, 16);
    return props;
  }

  @Test
  void validRequestsBecomeExactlyCountImagesAndBadOnesDeadLettersWithReasons() throws Exception {
    TopicLayout t = freshTopics();
    produceRequests(
        t.generationRequests(),
        List.of(
            request("by-label", 3, null, 3, 1, 4f, 4),
            request("by-prompt", null, "a pair of sneakers", 2, 2, 4f, 4),
            request("other-settings", null, "Ankle boots", 4, 3, 1f, 2),
            request("bad-label", 12, null, 1, 0, 4f, 4),
            request("bad-prompt", null, "unicorn", 1, 0, 4f, 4),
            request("no-class", null, null, 1, 0, 4f, 4),
            request("too-many", 1, null, 9, 0, 4f, 4),
            request("bad-steps", 1, null, 1, 0, 4f, 0),
            request("bad-guidance", 1, null, 1, 0, 25f, 4)));
    produceRaw(t.generationRequests(), "tombstone", null);
    produceRaw(t.generationRequests(), "not-avro", "{\"label\": 3}".getBytes());

    GenerateWorker worker = new GenerateWorker(new WorkerConfig(generateProps(t, "gen-1")));
    assertThat(worker.generatorModel()).isEqualTo("tiny-gen:1");
    assertThat(worker.decoderModel()).isEqualTo("tiny-softvq:1");
    Thread thread = runInBackground(worker);
    try {
      List<ConsumerRecord<String, GeneratedImage>> out =
          readCommitted(t.generatedImages(), GeneratedImage.class, 9, Duration.ofSeconds(60));
      List<ConsumerRecord<String, DeadLetter>> dead =
          readCommitted(t.deadLetters(), DeadLetter.class, 8, Duration.ofSeconds(30));

      assertThat(out).hasSize(9);
      Map<String, List<GeneratedImage>> byRequest =
          out.stream()
              .collect(
                  Collectors.groupingBy(
                      ConsumerRecord::key,
                      Collectors.mapping(ConsumerRecord::value, Collectors.toList())));
      assertThat(byRequest).containsOnlyKeys("by-label", "by-prompt", "other-settings");
      assertThat(byRequest.get("by-label"))
          .hasSize(3)
          .extracting(GeneratedImage::getIndex)
          .containsExactlyInAnyOrder(0, 1, 2);
      assertThat(byRequest.get("by-label")).allSatisfy(g -> assertThat(g.getLabel()).isEqualTo(3));
      assertThat(byRequest.get("by-prompt"))
          .hasSize(2)
          .allSatisfy(g -> assertThat(g.getLabel()).isEqualTo(7));
      assertThat(byRequest.get("other-settings"))
          .hasSize(4)
          .allSatisfy(g -> assertThat(g.getLabel()).isEqualTo(9));
      for (ConsumerRecord<String, GeneratedImage> r : out) {
        GeneratedImage g = r.value();
        assertThat(g.getRequestId().toString()).isEqualTo(r.key());
        assertThat(g.getGeneratorModel().toString()).isEqualTo("tiny-gen:1");
        assertThat(g.getDecoderModel().toString()).isEqualTo("tiny-softvq:1");
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes(g.getPng())));
        assertThat(img.getWidth()).isEqualTo(8);
        assertThat(img.getHeight()).isEqualTo(8);
        float[] tokens = floats(g.getTokens());
        assertThat(tokens).hasSize(4 * 4);
        for (float f : tokens) {
          assertThat(Float.isFinite(f)).isTrue();
        }
      }
      // Different images of one request have different tokens (different per-image seeds).
      List<GeneratedImage> byLabel = byRequest.get("by-label");
      assertThat(floats(byLabel.get(0).getTokens()))
          .isNotEqualTo(floats(byLabel.get(1).getTokens()));

      assertThat(dead).hasSize(8);
      Map<String, DeadLetter> dl =
          dead.stream().collect(Collectors.toMap(ConsumerRecord::key, ConsumerRecord::value));
      assertThat(dl.get("bad-label").getErrorClass().toString()).isEqualTo("InvalidLabel");
      assertThat(dl.get("bad-label").getReason().toString())
          .contains("label 12", "0 T-shirt/top", "9 Ankle boot");
      assertThat(dl.get("bad-prompt").getErrorClass().toString()).isEqualTo("UnknownPrompt");
      assertThat(dl.get("bad-prompt").getReason().toString()).contains("'unicorn'", "7 Sneaker");
      assertThat(dl.get("no-class").getErrorClass().toString()).isEqualTo("NoLabelOrPrompt");
      assertThat(dl.get("too-many").getErrorClass().toString()).isEqualTo("InvalidCount");
      assertThat(dl.get("too-many").getReason().toString()).contains("count 9", "1..8");
      assertThat(dl.get("bad-steps").getErrorClass().toString()).isEqualTo("InvalidSteps");
      assertThat(dl.get("bad-steps").getReason().toString())
          .contains("sampling_steps 0", "1..1000");
      assertThat(dl.get("bad-guidance").getErrorClass().toString()).isEqualTo("InvalidGuidance");
      assertThat(dl.get("bad-guidance").getReason().toString())
          .contains("guidance_scale 25.0", "[0, 20.0]");
      assertThat(dl.get("tombstone").getErrorClass().toString()).isEqualTo("EmptyRecord");
      assertThat(dl.get("not-avro").getErrorClass().toString()).isEqualTo("NotConfluentAvro");
      assertThat(dl.get("bad-label").getPayload()).isNotNull();
    } finally {
      worker.close();
      thread.join(30_000);
    }
    assertThat(thread.isAlive()).isFalse();
  }

  @Test
  void theSameSeedGivesTheSameImagesAndAnotherSeedOthers() throws Exception {
    TopicLayout t = freshTopics();
    GenerateWorker worker = new GenerateWorker(new WorkerConfig(generateProps(t, "gen-2")));
    Thread thread = runInBackground(worker);
    try {
      produceRequests(t.generationRequests(), List.of(request("first", 5, null, 3, 42, 3f, 5)));
      assertThat(
              readCommitted(t.generatedImages(), GeneratedImage.class, 3, Duration.ofSeconds(60)))
          .hasSize(3);
      produceRequests(
          t.generationRequests(),
          List.of(
              request("again", 5, null, 3, 42, 3f, 5),
              request("other-seed", 5, null, 3, 43, 3f, 5)));
      List<ConsumerRecord<String, GeneratedImage>> out =
          readCommitted(t.generatedImages(), GeneratedImage.class, 9, Duration.ofSeconds(60));
      assertThat(out).hasSize(9);
      Map<String, Map<Integer, GeneratedImage>> by =
          out.stream()
              .collect(
                  Collectors.groupingBy(
                      ConsumerRecord::key,
                      Collectors.toMap(r -> r.value().getIndex(), ConsumerRecord::value)));
      for (int i = 0; i < 3; i++) {
        assertThat(bytes(by.get("again").get(i).getPng()))
            .isEqualTo(bytes(by.get("first").get(i).getPng()));
        // "again" shares its forward pass with "other-seed": batch size changes float rounding, not
        // the image.
        float[] a = floats(by.get("again").get(i).getTokens());
        float[] f = floats(by.get("first").get(i).getTokens());
        for (int j = 0; j < f.length; j++) {
          assertThat(a[j]).isCloseTo(f[j], org.assertj.core.api.Assertions.within(1e-5f));
        }
        assertThat(floats(by.get("other-seed").get(i).getTokens()))
            .isNotEqualTo(floats(by.get("first").get(i).getTokens()));
      }
    } finally {
      worker.close();
      thread.join(30_000);
    }
  }

  @Test
  void aNewGeneratorVersionIsTakenMidStreamWithNothingLostOrDuplicated() throws Exception {
    TopicLayout t = freshTopics();
    Path v2 = TestImages.tinyGenerator(dir.resolve("generator-v2"), 4);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t)) {
      models.publish(generator, "tiny-gen", ModelKind.GENERATOR, 1, Map.of(), ModelStatus.ACTIVE);
      Map<String, Object> props = generateProps(t, "gen-swap");
      props.remove(GenerationSettings.GENERATOR_DIR);
      props.put(GenerationSettings.GENERATOR_WATCH, true);
      props.put(GenerationSettings.GENERATOR_NAME, "tiny-gen");
      props.put(WorkerConfig.BATCH_MAX_RECORDS, 4);
      props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("gen-cache").toString());
      GenerateWorker worker = new GenerateWorker(new WorkerConfig(props));
      assertThat(worker.generatorModel()).isEqualTo("tiny-gen:1");
      Thread thread = runInBackground(worker);
      ExecutorService feeder = Executors.newSingleThreadExecutor();
      AtomicBoolean swapped = new AtomicBoolean();
      Future<Integer> feeding = feed(feeder, t, swapped);
      try {
        assertThat(
                readCommitted(t.generatedImages(), GeneratedImage.class, 8, Duration.ofSeconds(60))
                    .size())
            .isGreaterThanOrEqualTo(8);
        models.publish(v2, "tiny-gen", ModelKind.GENERATOR, 2, Map.of(), ModelStatus.ACTIVE);
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (worker.generatorVersion() != 2 && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(worker.generatorVersion()).isEqualTo(2);
        swapped.set(true);
        int requests = feeding.get(60, java.util.concurrent.TimeUnit.SECONDS);
        List<ConsumerRecord<String, GeneratedImage>> out =
            readCommitted(
                t.generatedImages(), GeneratedImage.class, 2 * requests, Duration.ofSeconds(90));
        Map<String, Long> perImage =
            out.stream()
                .collect(
                    Collectors.groupingBy(
                        r -> r.key() + "#" + r.value().getIndex(), Collectors.counting()));
        assertThat(perImage).as("every image of every request exactly once").hasSize(2 * requests);
        assertThat(perImage.values()).allMatch(c -> c == 1L);
        assertThat(
                out.stream()
                    .map(r -> r.value().getGeneratorModel().toString())
                    .distinct()
                    .sorted()
                    .toList())
            .containsExactly("tiny-gen:1", "tiny-gen:2");
        // Per partition, in offset order, v1 serves until the swap and v2 from then on; a request
        // is served by one.
        Map<Integer, List<ConsumerRecord<String, GeneratedImage>>> byPartition =
            out.stream().collect(Collectors.groupingBy(ConsumerRecord::partition));
        for (List<ConsumerRecord<String, GeneratedImage>> l : byPartition.values()) {
          l.sort(java.util.Comparator.comparingLong(ConsumerRecord::offset));
          boolean seenV2 = false;
          for (ConsumerRecord<String, GeneratedImage> r : l) {
            boolean v2Made = r.value().getGeneratorModel().toString().equals("tiny-gen:2");
            assertThat(v2Made || !seenV2)
                .as("offset %d of partition %d went back to v1", r.offset(), r.partition())
                .isTrue();
            seenV2 |= v2Made;
          }
        }
        Map<String, List<String>> versionsPerRequest =
            out.stream()
                .collect(
                    Collectors.groupingBy(
                        ConsumerRecord::key,
                        Collectors.mapping(
                            r -> r.value().getGeneratorModel().toString(), Collectors.toList())));
        assertThat(versionsPerRequest.values()).allMatch(l -> l.stream().distinct().count() == 1);
        assertThat(worker.metrics().recordsOutByVersionCount("tiny-gen", 2)).isPositive();
      } finally {
        feeder.shutdownNow();
        worker.close();
        thread.join(30_000);
      }
    }
  }

  /**
   * Requests of 2 images each, 4 every 100 ms, until 10 rounds after {@code swapped} is set, so
   * that the versions before and after a swap both serve part of the stream; returns how many
   * requests were sent.
   */
  static Future<Integer> feed(ExecutorService feeder, TopicLayout t, AtomicBoolean swapped) {
    return feeder.submit(
        () -> {
          int n = 0;
          for (int after = 0; after < 10; n += 4) {
            List<GenerationRequest> chunk = new ArrayList<>();
            for (int j = n; j < n + 4; j++) {
              chunk.add(request("req-" + j, j % 10, null, 2, j, 2f, 2));
            }
            produceRequests(t.generationRequests(), chunk);
            Thread.sleep(100);
            after += swapped.get() ? 1 : 0;
          }
          return n;
        });
  }

  /** Worker settings that follow tiny-gen's (and so tiny-softvq's) announcements. */
  static Map<String, Object> watchProps(TopicLayout t, String workerId) {
    Map<String, Object> props = generateProps(t, workerId);
    props.remove(GenerationSettings.GENERATOR_DIR);
    props.put(GenerationSettings.GENERATOR_WATCH, true);
    props.put(GenerationSettings.GENERATOR_NAME, "tiny-gen");
    props.put(WorkerConfig.BATCH_MAX_RECORDS, 4);
    props.put(WorkerConfig.MODEL_CACHE_DIR, dir.resolve("cache-" + workerId).toString());
    return props;
  }

  static void await(java.util.function.BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(condition.getAsBoolean()).as(what).isTrue();
  }

  /**
   * Every image of every request exactly once, and per partition no going back to an older pair of
   * versions (pairs compared as "generator:v+decoder:v" strings, so single-digit versions only).
   */
  static void assertExactlyOnceAndInOrder(
      List<ConsumerRecord<String, GeneratedImage>> out, int images) {
    Map<String, Long> perImage =
        out.stream()
            .collect(
                Collectors.groupingBy(
                    r -> r.key() + "#" + r.value().getIndex(), Collectors.counting()));
    assertThat(perImage).as("every image of every request exactly once").hasSize(images);
    assertThat(perImage.values()).allMatch(c -> c == 1L);
    Map<Integer, List<ConsumerRecord<String, GeneratedImage>>> byPartition =
        out.stream().collect(Collectors.groupingBy(ConsumerRecord::partition));
    for (List<ConsumerRecord<String, GeneratedImage>> l : byPartition.values()) {
      l.sort(java.util.Comparator.comparingLong(ConsumerRecord::offset));
      String last = "";
      for (ConsumerRecord<String, GeneratedImage> r : l) {
        String pair = r.value().getGeneratorModel() + "+" + r.value().getDecoderModel();
        assertThat(pair.compareTo(last))
            .as("offset %d of partition %d went back to %s", r.offset(), r.partition(), pair)
            .isGreaterThanOrEqualTo(0);
        last = pair;
      }
    }
    Map<String, List<String>> pairsPerRequest =
        out.stream()
            .collect(
                Collectors.groupingBy(
                    ConsumerRecord::key,
                    Collectors.mapping(
                        r -> r.value().getGeneratorModel() + "+" + r.value().getDecoderModel(),
                        Collectors.toList())));
    assertThat(pairsPerRequest.values())
        .as("a request is served by one pair")
        .allMatch(l -> l.stream().distinct().count() == 1);
  }

  /**
   * The largest difference of a gray level between {@code png} and what {@code decoderDir} decodes
   * {@code tokens} to.
   */
  static int difference(byte[] png, float[] tokens, Path decoderDir) throws Exception {
    try (TokenizerRuntime d =
        TokenizerRuntimes.open(decoderDir, EngineKind.AUTO, TokenizerRuntimes.Part.DECODER)) {
      int size = d.config().imageSize();
      BufferedImage want =
          ImageTranslator.toImage(d.decode(tokens, 1), 0, d.config().channels(), size);
      BufferedImage got = ImageIO.read(new ByteArrayInputStream(png));
      int max = 0;
      for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
          max =
              Math.max(
                  max,
                  Math.abs(
                      want.getRaster().getSample(x, y, 0) - got.getRaster().getSample(x, y, 0)));
        }
      }
      return max;
    }
  }

  /**
   * Like {@link TokenizerConfig#tiny} with 8 tokens: a tokenizer the tiny generator's 4 tokens do
   * not fit.
   */
  static final TokenizerConfig EIGHT_TOKENS =
      new TokenizerConfig(
          8, 1, 4, 8, 4, 8, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);

  @Test
  void aNewDecoderVersionIsTakenMidStreamAndOneOfAnotherShapeRefused() throws Exception {
    TopicLayout t = freshTopics();
    Path dec2 =
        TestImages.tinyModel(
            dir.resolve("decoder-v2"), TokenizerConfig.tiny("softvq"), "tiny-softvq", 11);
    Path dec3 =
        TestImages.tinyModel(dir.resolve("decoder-v3-8-tokens"), EIGHT_TOKENS, "tiny-softvq", 12);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t)) {
      models.publish(generator, "tiny-gen", ModelKind.GENERATOR, 1, Map.of(), ModelStatus.ACTIVE);
      GenerateWorker worker = new GenerateWorker(new WorkerConfig(watchProps(t, "gen-dec-swap")));
      assertThat(worker.decoderModel()).isEqualTo("tiny-softvq:1");
      Thread thread = runInBackground(worker);
      ExecutorService feeder = Executors.newSingleThreadExecutor();
      AtomicBoolean swapped = new AtomicBoolean();
      Future<Integer> feeding = feed(feeder, t, swapped);
      try {
        assertThat(
                readCommitted(t.generatedImages(), GeneratedImage.class, 8, Duration.ofSeconds(60))
                    .size())
            .isGreaterThanOrEqualTo(8);
        models.publish(dec2, "tiny-softvq", ModelKind.DECODER, 2, Map.of(), ModelStatus.ACTIVE);
        await(() -> worker.decoderVersion() == 2, "decoder v2 serves");
        // Loaded and warmed up fine, but it decodes 8 tokens and the serving generator makes 4.
        models.publish(dec3, "tiny-softvq", ModelKind.DECODER, 3, Map.of(), ModelStatus.ACTIVE);
        await(() -> worker.heldBack().contains("tiny-softvq:3"), "decoder v3 refused");
        assertThat(worker.heldBack()).contains("tiny-gen:1", "4x4", "8x4");
        swapped.set(true);
        int requests = feeding.get(60, java.util.concurrent.TimeUnit.SECONDS);
        List<ConsumerRecord<String, GeneratedImage>> out =
            readCommitted(
                t.generatedImages(), GeneratedImage.class, 2 * requests, Duration.ofSeconds(90));
        assertExactlyOnceAndInOrder(out, 2 * requests);
        assertThat(
                out.stream()
                    .map(r -> r.value().getDecoderModel().toString())
                    .distinct()
                    .sorted()
                    .toList())
            .containsExactly("tiny-softvq:1", "tiny-softvq:2");
        assertThat(out)
            .allMatch(r -> r.value().getGeneratorModel().toString().equals("tiny-gen:1"));
        assertThat(worker.decoderModel()).isEqualTo("tiny-softvq:2");
        // Each image is what the decoder version it names makes of its tokens, and not what the
        // other one makes.
        boolean versionsDiffer = false;
        for (ConsumerRecord<String, GeneratedImage> r : out) {
          boolean v2 = r.value().getDecoderModel().toString().equals("tiny-softvq:2");
          byte[] png = bytes(r.value().getPng());
          float[] tokens = floats(r.value().getTokens());
          assertThat(difference(png, tokens, v2 ? dec2 : model))
              .as("%s #%d", r.key(), r.value().getIndex())
              .isLessThanOrEqualTo(1);
          versionsDiffer |= v2 && difference(png, tokens, model) > 1;
        }
        assertThat(versionsDiffer).as("v1 and v2 decode to different images").isTrue();
        assertThat(worker.metrics().recordsOutByVersionCount("tiny-softvq", 2)).isPositive();
        assertThat(worker.metrics().recordsOutByVersionCount("tiny-softvq", 3)).isZero();
      } finally {
        feeder.shutdownNow();
        worker.close();
        thread.join(30_000);
      }
    }
  }

  @Test
  void aGeneratorOfAnotherTokenShapeWaitsForItsDecoderAndBothSwitchTogether() throws Exception {
    TopicLayout t = freshTopics();
    Path gen2 =
        TestImages.tinyGenerator(
            dir.resolve("generator-8-tokens"),
            5,
            new GeneratorConfig(8, 4, 16, 1, 2, 2, 10, 0f, 1f));
    Path dec2 =
        TestImages.tinyModel(dir.resolve("decoder-8-tokens"), EIGHT_TOKENS, "tiny-softvq", 13);
    try (SchemaRegistryClient schemas = SchemaRegistryClients.create(platform.clientProperties());
        ModelRegistry models = new ModelRegistry(platform.clientProperties(), schemas, t)) {
      models.publish(generator, "tiny-gen", ModelKind.GENERATOR, 1, Map.of(), ModelStatus.ACTIVE);
      GenerateWorker worker = new GenerateWorker(new WorkerConfig(watchProps(t, "gen-pair-swap")));
      Thread thread = runInBackground(worker);
      ExecutorService feeder = Executors.newSingleThreadExecutor();
      AtomicBoolean swapped = new AtomicBoolean();
      Future<Integer> feeding = feed(feeder, t, swapped);
      try {
        assertThat(
                readCommitted(t.generatedImages(), GeneratedImage.class, 8, Duration.ofSeconds(60))
                    .size())
            .isGreaterThanOrEqualTo(8);
        models.publish(gen2, "tiny-gen", ModelKind.GENERATOR, 2, Map.of(), ModelStatus.ACTIVE);
        await(
            () -> worker.heldBack().contains("tiny-gen:2"),
            "generator v2 waits for a decoder of its shape");
        assertThat(worker.generatorModel()).isEqualTo("tiny-gen:1");
        models.publish(dec2, "tiny-softvq", ModelKind.DECODER, 2, Map.of(), ModelStatus.ACTIVE);
        await(() -> worker.generatorVersion() == 2, "generator v2 serves");
        assertThat(worker.decoderModel()).isEqualTo("tiny-softvq:2");
        swapped.set(true);
        int requests = feeding.get(60, java.util.concurrent.TimeUnit.SECONDS);
        List<ConsumerRecord<String, GeneratedImage>> out =
            readCommitted(
                t.generatedImages(), GeneratedImage.class, 2 * requests, Duration.ofSeconds(90));
        assertExactlyOnceAndInOrder(out, 2 * requests);
        Map<String, List<Integer>> tokensPerPair =
            out.stream()
                .collect(
                    Collectors.groupingBy(
                        r -> r.value().getGeneratorModel() + "+" + r.value().getDecoderModel(),
                        Collectors.mapping(
                            r -> floats(r.value().getTokens()).length, Collectors.toList())));
        assertThat(tokensPerPair)
            .as("never a mismatched pair")
            .containsOnlyKeys("tiny-gen:1+tiny-softvq:1", "tiny-gen:2+tiny-softvq:2");
        assertThat(tokensPerPair.get("tiny-gen:1+tiny-softvq:1")).allMatch(n -> n == 4 * 4);
        assertThat(tokensPerPair.get("tiny-gen:2+tiny-softvq:2")).allMatch(n -> n == 8 * 4);
      } finally {
        feeder.shutdownNow();
        worker.close();
        thread.join(30_000);
      }
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  private static float[] floats(ByteBuffer b) {
    ByteBuffer d = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] f = new float[d.remaining() / 4];
    d.asFloatBuffer().get(f);
    return f;
  }
}
