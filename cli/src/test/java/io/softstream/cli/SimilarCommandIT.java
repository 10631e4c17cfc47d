package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.data.FashionMnist;
import io.softstream.model.onnx.OnnxCodebook;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApps;
import io.softstream.topology.streams.StreamsRunner;
import io.softstream.topology.streams.StreamsSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code softstream similar} on real tokens of 60 Fashion-MNIST test images (the shipped model;
 * fp16, int8 and topk:2 records on the tokens topic): built from the topic in process, and through
 * the similarity app's interactive query. The query image is one of the stored ones, so it comes
 * back first with cosine ~1, and its neighbours share its class more often than chance.
 */
@Tag("integration")
class SimilarCommandIT {
  static final Path MODEL = PythonReaderIT.MODEL;
  static final int N = 60;
  @TempDir Path dir;
  final ObjectMapper json = new ObjectMapper();

  @Test
  void nearestImagesFromTheTopicAndFromTheStreamsApp() throws Exception {
    FashionMnist.Split split = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, N);
    List<TokenRecord> records = new ArrayList<>();
    try (TokenizerRuntime rt =
        TokenizerRuntimes.open(MODEL, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.ENCODER)) {
      var c = rt.config();
      Codebook cb =
          Codebook.normalise(
              c.numCodebooks(), c.codebookSize(), c.codeDim(), OnnxCodebook.read(MODEL, c));
      TokenizerRuntime.Encoded enc = rt.encode(split.padded(c.imageSize()), N);
      String[] encodings = {"fp16", "int8", "topk:2"};
      for (int i = 0; i < N; i++) {
        TokenRecord.Builder b =
            TokenRecord.newBuilder()
                .setImageId("fm-" + i + "-label-" + split.labels()[i])
                .setModelName(rt.card().name())
                .setModelVersion(1)
                .setTokenCount(enc.tokens())
                .setTokenDim(enc.dim())
                .setEncodeLatencyMicros(1)
                .setSourceTopic("images")
                .setSourcePartition(0)
                .setSourceOffset(i);
        records.add(
            TokenCodec.fill(
                    b,
                    enc.image(i),
                    enc.tokens(),
                    enc.dim(),
                    TokenCodec.Encoding.parse(encodings[i % 3]),
                    cb)
                .build());
      }
    }
    Path query = dir.resolve("query.png");
    ImageIO.write(split.image(0), "png", query.toFile()); // stored as fm-0 (fp16)

    try (EmbeddedPlatform platform =
        EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults())) {
      try (SchemaRegistryClient registry =
              SchemaRegistryClients.create(platform.clientProperties());
          KafkaProducer<String, TokenRecord> producer =
              new KafkaProducer<>(
                  platform.clientProperties(),
                  new StringSerializer(),
                  new AvroSerializer<>(registry, platform.clientProperties(), false))) {
        for (TokenRecord r : records) {
          producer.send(new ProducerRecord<>("tokens", r.getImageId(), r));
        }
      }
      String[] conn = {
        "similar",
        "--bootstrap-servers",
        platform.bootstrapServers(),
        "--schema-registry-url",
        platform.schemaRegistryUrl(),
        "--model",
        MODEL.toString(),
        "--image",
        query.toString(),
        "--k",
        "10",
        "--json"
      };

      // From the topic: every record indexed (topk with the model's codebook).
      JsonNode topic = run(conn);
      assertThat(topic.get("indexed").asInt()).isEqualTo(N);
      assertThat(topic.get("hits")).hasSize(10);
      assertThat(topic.get("hits").get(0).get("id").asText())
          .isEqualTo("fm-0-label-" + split.labels()[0]);
      assertThat(topic.get("hits").get(0).get("cosine").asDouble()).isGreaterThan(0.999);
      assertThat(sameClass(topic, split.labels()[0])).isGreaterThanOrEqualTo(3); // chance: ~1

      // Through the similarity app: dense and int8 records indexed, topk ones skipped.
      Map<String, Object> s = new HashMap<>(platform.clientProperties());
      s.put(StreamsSettings.STATE_DIR, dir.resolve("streams").toString());
      s.put(StreamsSettings.METRICS_PORT, 0);
      s.put("commit.interval.ms", 100);
      try (StreamsRunner runner =
          new StreamsRunner(new StreamsSettings(s), StreamsApps.select("similarity"))) {
        runner.start();
        String url = "http://127.0.0.1:" + runner.metricsPort();
        String[] viaApp = concat(conn, "--url", url);
        // Wait (cheaply, without the command's model load) until the app's store holds every
        // record.
        String probe =
            "{\"model\":\""
                + records.get(0).getModelName()
                + "\",\"version\":1,\"k\":1,\"tokens\":"
                + java.util.Arrays.toString(new float[512])
                + "}";
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        int stored = 0;
        while (stored < N && System.nanoTime() < deadline) {
          var r =
              http.send(
                  java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/similar"))
                      .POST(java.net.http.HttpRequest.BodyPublishers.ofString(probe))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            JsonNode n = json.readTree(r.body());
            stored = n.get("indexed").asInt() + n.get("skipped").asInt();
          }
          if (stored < N) {
            Thread.sleep(300); // 503 while the app starts, or records still arriving
          }
        }
        JsonNode app = run(viaApp);
        assertThat(app).isNotNull();
        assertThat(app.get("indexed").asInt()).isEqualTo(40);
        assertThat(app.get("skipped").asInt()).isEqualTo(20);
        assertThat(app.get("hits").get(0).get("id").asText())
            .isEqualTo("fm-0-label-" + split.labels()[0]);
        assertThat(app.get("hits").get(0).get("cosine").asDouble()).isGreaterThan(0.999);
      }
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static int sameClass(JsonNode answer, int label) {
    int n = 0;
    for (JsonNode h : answer.get("hits")) {
      n += h.get("id").asText().endsWith("-label-" + label) ? 1 : 0;
    }
    return n;
  }

  private JsonNode run(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    assertThat(code).as("similar exit code; stderr: %s", err).isZero();
    return json.readTree(out.toString());
  }
}
