package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.ImageEvent;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.WireFormat;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.topology.TopicLayout;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Good images mixed with poison pills through a real encode worker, then its tokens through a
 * decode worker.
 */
class EncodeDecodeWorkerIT extends WorkerIT {

  @Test
  void goodImagesBecomeTokensAndPoisonPillsBecomeDeadLettersWithReasons() throws Exception {
    TopicLayout t = freshTopics();
    List<ImageEvent> good = new ArrayList<>();
    String[] formats = {"png", "jpg", "bmp", "gif"};
    for (int i = 0; i < 40; i++) {
      good.add(
          image(
              "good-" + i,
              TestImages.random(8 + i % 20, 8 + i % 13, formats[i % 4], i),
              "image/" + formats[i % 4]));
    }
    produceImages(t.images(), good.subList(0, 20));
    byte[] png = TestImages.random(16, 16, "png", 99);
    produceImages(
        t.images(),
        List.of(
            image("corrupt", "definitely not an image".getBytes(), "image/png"),
            image("truncated", java.util.Arrays.copyOf(png, png.length / 2), "image/png"),
            image("bomb", TestImages.pngHeader(50_000, 50_000), "image/png"),
            image("oversized", new byte[300_000], "image/png"),
            image("zero-size", TestImages.zeroSizeBmp(), "image/bmp")));
    produceRaw(t.images(), "not-avro", "{\"json\": true}".getBytes());
    produceRaw(t.images(), "unknown-schema", WireFormat.encodeV0(987_654, new byte[] {2, 'x'}));
    produceRaw(t.images(), "tombstone", null);
    produceRaw(
        t.images(), "wrong-schema", tokenRecordBytes(t)); // a TokenRecord on the images topic
    produceImages(t.images(), good.subList(20, 40));

    Map<String, Object> props = workerProps(t, "enc-1");
    props.put(WorkerConfig.IMAGE_MAX_BYTES, 200_000);
    props.put(WorkerConfig.BATCH_MAX_RECORDS, 8);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
    Thread thread = runInBackground(worker);
    try {
      List<ConsumerRecord<String, TokenRecord>> tokens =
          readCommitted(t.tokens(), TokenRecord.class, 40, Duration.ofSeconds(60));
      List<ConsumerRecord<String, DeadLetter>> dead =
          readCommitted(t.deadLetters(), DeadLetter.class, 9, Duration.ofSeconds(30));

      assertThat(tokens).hasSize(40);
      assertThat(tokens)
          .extracting(ConsumerRecord::key)
          .containsExactlyInAnyOrderElementsOf(good.stream().map(ImageEvent::getId).toList());
      for (ConsumerRecord<String, TokenRecord> r : tokens) {
        TokenRecord tr = r.value();
        assertThat(tr.getImageId()).isEqualTo(r.key());
        assertThat(tr.getModelName()).isEqualTo("tiny-softvq");
        assertThat(tr.getModelVersion()).isEqualTo(1);
        assertThat(tr.getTokenCount()).isEqualTo(4);
        assertThat(tr.getTokenDim()).isEqualTo(4);
        assertThat(tr.getDtype()).isEqualTo(TokenDtype.FP16);
        assertThat(tr.getTokens().remaining()).isEqualTo(4 * 4 * 2);
        assertThat(tr.getCodeIndices()).hasSize(4).allSatisfy(c -> assertThat(c).isBetween(0, 7));
        for (float v : TokenPacking.unpack(tr)) {
          assertThat(Float.isFinite(v)).isTrue();
        }
        assertThat(tr.getSourceTopic()).isEqualTo(t.images());
      }

      Map<String, DeadLetter> byKey =
          dead.stream()
              .collect(
                  Collectors.toMap(r -> r.key() == null ? "null" : r.key(), ConsumerRecord::value));
      assertThat(byKey).hasSize(9);
      assertThat(byKey.get("corrupt").getErrorClass()).isEqualTo("UndecodableImage");
      assertThat(byKey.get("truncated").getErrorClass()).isEqualTo("UndecodableImage");
      assertThat(byKey.get("bomb").getErrorClass()).isEqualTo("OversizedImage");
      assertThat(byKey.get("bomb").getReason()).contains("50000x50000");
      assertThat(byKey.get("oversized").getErrorClass()).isEqualTo("OversizedPayload");
      assertThat(byKey.get("zero-size").getErrorClass()).isIn("EmptyImage", "UndecodableImage");
      assertThat(byKey.get("not-avro").getErrorClass()).isEqualTo("NotConfluentAvro");
      assertThat(byKey.get("unknown-schema").getErrorClass()).isEqualTo("UnknownSchemaId");
      assertThat(byKey.get("tombstone").getErrorClass()).isEqualTo("EmptyRecord");
      assertThat(byKey.get("wrong-schema").getErrorClass()).isEqualTo("WrongSchema");
      assertThat(byKey.get("wrong-schema").getReason())
          .startsWith("The record could not be read as an ImageEvent");
      for (DeadLetter d : byKey.values()) {
        assertThat(d.getOriginalTopic()).isEqualTo(t.images());
        assertThat(d.getWorkerId()).isEqualTo("enc-1");
        assertThat(d.getReason()).isNotBlank();
      }
      assertThat(byKey.get("not-avro").getPayload())
          .isEqualTo(ByteBuffer.wrap("{\"json\": true}".getBytes()));

      String metrics = http("http://127.0.0.1:" + worker.metricsPort() + "/metrics");
      assertThat(metrics)
          .contains("softstream_records_in_total{role=\"encode\",worker=\"enc-1\"} 49.0");
      assertThat(metrics)
          .contains("softstream_records_out_total{role=\"encode\",worker=\"enc-1\"} 40.0");
      assertThat(metrics)
          .contains("softstream_dead_letters_total{error_class=\"UndecodableImage\"");
      assertThat(metrics)
          .contains(
              "softstream_model_active{model=\"tiny-softvq\",role=\"encode\",version=\"1\",worker=\"enc-1\"} 1.0");
      assertThat(metrics)
          .contains("softstream_inference_latency_seconds_count")
          .contains("softstream_batch_size_count");
      assertThat(http("http://127.0.0.1:" + worker.metricsPort() + "/health/ready")).contains("UP");

      // The tokens decode back to images of the model's size, and foreign tokens are refused by
      // name.
      Map<String, Object> dprops = workerProps(t, "dec-1");
      DecodeWorker decoder = new DecodeWorker(new WorkerConfig(dprops));
      produceRaw(t.tokens(), "other-model", tokenRecordBytes(t));
      Thread dthread = runInBackground(decoder);
      try {
        List<ConsumerRecord<String, ImageEvent>> recon =
            readCommitted(t.reconstructions(), ImageEvent.class, 40, Duration.ofSeconds(60));
        assertThat(recon).hasSize(40);
        for (ConsumerRecord<String, ImageEvent> r : recon) {
          var img = ImageIO.read(new ByteArrayInputStream(r.value().getImageBytes().array()));
          assertThat(img.getWidth()).isEqualTo(8);
          assertThat(img.getHeight()).isEqualTo(8);
          assertThat(r.value().getSource()).isEqualTo("reconstruction by tiny-softvq:1");
        }
        List<ConsumerRecord<String, DeadLetter>> dead2 =
            readCommitted(t.deadLetters(), DeadLetter.class, 10, Duration.ofSeconds(30));
        DeadLetter foreign =
            dead2.stream()
                .filter(r -> "other-model".equals(r.key()))
                .findFirst()
                .orElseThrow()
                .value();
        assertThat(foreign.getErrorClass()).isEqualTo("UnknownModelVersion");
        assertThat(foreign.getReason())
            .contains("someone-else:3")
            .contains("serves [tiny-softvq:1]");
      } finally {
        decoder.close();
        dthread.join(30_000);
      }
    } finally {
      worker.close();
      thread.join(30_000);
    }
    assertThat(thread.isAlive()).isFalse();
  }

  /**
   * Batches split among decode threads give each image's own tokens: images large enough to be
   * split (8 x 400x300 a batch: 3 tasks) with bad ones in between, on 1 and 3 threads, against the
   * good images alone (no dead letter to close a gap for).
   */
  @Test
  void decodingOnSeveralThreadsGivesEachImageItsOwnTokens() throws Exception {
    List<ImageEvent> all = new ArrayList<>();
    List<ImageEvent> goodOnly = new ArrayList<>();
    for (int i = 0; i < 21; i++) {
      String format = i % 2 == 0 ? "jpg" : "png";
      byte[] bytes = TestImages.random(400, 300, format, 500 + i);
      if (i % 7 == 3) {
        bytes = ("not an image " + i).getBytes(); // a dead letter between good images
      } else {
        goodOnly.add(image("img-" + i, bytes, "image/" + format));
      }
      all.add(image("img-" + i, bytes, "image/" + format));
    }
    Map<String, float[]> reference = encode(goodOnly, 1, 18, 0);
    for (int threads : new int[] {1, 3}) {
      Map<String, float[]> tokens = encode(all, threads, 18, 3);
      assertThat(tokens.keySet()).isEqualTo(reference.keySet());
      for (Map.Entry<String, float[]> e : tokens.entrySet()) {
        assertThat(e.getValue())
            .as("tokens of %s on %d decode threads", e.getKey(), threads)
            .containsExactly(reference.get(e.getKey()), org.assertj.core.data.Offset.offset(2e-3f));
      }
    }
  }

  /** Runs an encode worker over {@code events}; its tokens by key, after checking the counts. */
  private static Map<String, float[]> encode(
      List<ImageEvent> events, int decodeThreads, int tokens, int deadLetters) throws Exception {
    TopicLayout t = freshTopics();
    produceImages(t.images(), events);
    Map<String, Object> props = workerProps(t, "enc-threads-" + decodeThreads);
    props.put(WorkerConfig.BATCH_MAX_RECORDS, 8);
    props.put(WorkerConfig.DECODE_THREADS, decodeThreads);
    EncodeWorker worker = new EncodeWorker(new WorkerConfig(props));
    Thread thread = runInBackground(worker);
    try {
      List<ConsumerRecord<String, TokenRecord>> out =
          readCommitted(t.tokens(), TokenRecord.class, tokens, Duration.ofSeconds(60));
      assertThat(out).hasSize(tokens);
      if (deadLetters > 0) {
        List<ConsumerRecord<String, DeadLetter>> dead =
            readCommitted(t.deadLetters(), DeadLetter.class, deadLetters, Duration.ofSeconds(30));
        assertThat(dead)
            .extracting(ConsumerRecord::key)
            .containsExactlyInAnyOrder("img-3", "img-10", "img-17");
        assertThat(dead)
            .allSatisfy(d -> assertThat(d.value().getErrorClass()).isEqualTo("UndecodableImage"));
      }
      return out.stream()
          .collect(Collectors.toMap(ConsumerRecord::key, r -> TokenPacking.unpack(r.value())));
    } finally {
      worker.close();
      thread.join(30_000);
    }
  }

  private static byte[] tokenRecordBytes(TopicLayout t) {
    TokenRecord tr =
        TokenRecord.newBuilder()
            .setImageId("x")
            .setModelName("someone-else")
            .setModelVersion(3)
            .setTokenCount(4)
            .setTokenDim(4)
            .setDtype(TokenDtype.FP32)
            .setTokens(ByteBuffer.wrap(new byte[64]))
            .setEncodeLatencyMicros(1)
            .setSourceTopic("s")
            .setSourcePartition(0)
            .setSourceOffset(0)
            .setEventTime(Instant.now())
            .build();
    try (SchemaRegistryClient registry =
        SchemaRegistryClients.create(platform.clientProperties())) {
      // Registered under the tokens subject, so on the images topic it is a valid Avro record of
      // the wrong type.
      return new io.softstream.schemas.serde.AvroSerializer<TokenRecord>(
              registry, platform.clientProperties(), false)
          .serialize(t.tokens(), tr);
    }
  }

  static String http(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
