package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.embedded.EmbeddedPlatform;
import io.softstream.model.data.FashionMnist;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.schemas.tokens.TokenPacking;
import io.softstream.topology.TopicLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * clients/python's {@code softstream_tokens} against the embedded broker and registry: real
 * TokenRecords (Fashion-MNIST test images encoded by the shipped model, FP16 and FP32, written
 * transactionally as the encode workers write them) read by Debian's /usr/bin/python3 with
 * PYTHONPATH=clients/python, compared value for value with what Java wrote; and the Python decoder
 * ({@code decoder.onnx} on onnxruntime, from the venv {@code scripts/install-deps.sh test} makes)
 * against the Java decoder's pixels.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PythonReaderIT {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path MODEL = ROOT.resolve("models/softvq-fmnist-32-next");
  static final Path SCRIPT =
      Path.of("src/test/resources/python/token_reader_check.py").toAbsolutePath();

  /** Debian's python3 with onnxruntime, made by scripts/install-deps.sh test. */
  static final Path VENV_PYTHON = ROOT.resolve(".cache/python-venv/bin/python");

  static final int N = 6;

  final ObjectMapper json = new ObjectMapper();
  @TempDir static Path dir;
  EmbeddedPlatform platform;
  String topic;
  final List<TokenRecord> sent = new ArrayList<>();

  /** Java's decoder output per image id, from the tokens as packed (FP16 rounding included). */
  final Map<String, float[]> javaPixels = new HashMap<>();

  @BeforeAll
  void writeRealTokenRecords() throws Exception {
    platform = EmbeddedPlatform.start(dir.resolve("kafka"), 0, TopicLayout.defaults());
    topic = TopicLayout.defaults().tokens();

    FashionMnist.Split split = FashionMnist.read(FashionMnist.DEFAULT_DIR, false, N);
    try (TokenizerRuntime rt =
        TokenizerRuntimes.open(MODEL, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.BOTH)) {
      int size = rt.config().imageSize();
      TokenizerRuntime.Encoded enc = rt.encode(split.padded(size), N);
      float[] unpacked = new float[N * enc.tokens() * enc.dim()];
      for (int i = 0; i < N; i++) {
        TokenDtype dtype = i % 2 == 0 ? TokenDtype.FP16 : TokenDtype.FP32;
        List<Integer> codes = new ArrayList<>();
        for (int c : enc.codes(i)) {
          codes.add(c);
        }
        TokenRecord r =
            TokenRecord.newBuilder()
                .setImageId("fmnist-test-" + i)
                .setModelName(rt.card().name())
                .setModelVersion(7)
                .setTokenCount(enc.tokens())
                .setTokenDim(enc.dim())
                .setDtype(dtype)
                .setTokens(ByteBuffer.wrap(TokenPacking.pack(enc.image(i), dtype)))
                .setCodeIndices(codes)
                .setEncodeLatencyMicros(1234)
                .setSourceTopic(TopicLayout.defaults().images())
                .setSourcePartition(0)
                .setSourceOffset(i)
                .setEventTime(Instant.ofEpochMilli(1_760_000_000_123L + i * 1001L))
                .build();
        sent.add(r);
        float[] t = TokenPacking.unpack(r);
        System.arraycopy(t, 0, unpacked, i * t.length, t.length);
      }
      float[] px = rt.decode(unpacked, N);
      int per = px.length / N;
      for (int i = 0; i < N; i++) {
        float[] p = new float[per];
        System.arraycopy(px, i * per, p, 0, per);
        javaPixels.put(sent.get(i).getImageId(), p);
      }
    }

    Map<String, Object> p = new HashMap<>(platform.clientProperties());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "python-reader-it");
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(platform.clientProperties());
        KafkaProducer<String, TokenRecord> producer =
            new KafkaProducer<>(
                p,
                new StringSerializer(),
                new AvroSerializer<>(registry, platform.clientProperties(), false))) {
      producer.initTransactions();
      producer.beginTransaction();
      for (TokenRecord r : sent) {
        producer.send(new ProducerRecord<>(topic, r.getImageId(), r));
      }
      producer.commitTransaction();
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (platform != null) {
      platform.close();
    }
  }

  @Test
  void debiansPython3ReadsTokensAsNumpyArraysOfTheRightShapeDtypeAndValues() throws Exception {
    List<JsonNode> lines = python("/usr/bin/python3", "py-reader-it", "-");
    assertThat(lines.get(0).get("onnxruntime_imported").asBoolean())
        .as("reading tokens must not import onnxruntime")
        .isFalse();
    Map<String, JsonNode> byId = new LinkedHashMap<>();
    lines.subList(1, lines.size()).forEach(n -> byId.put(n.get("image_id").asText(), n));
    assertThat(byId).hasSize(N);
    for (TokenRecord r : sent) {
      JsonNode n = byId.get(r.getImageId());
      assertThat(n).as(r.getImageId()).isNotNull();
      assertThat(n.get("key").asText()).isEqualTo(r.getImageId());
      assertThat(n.get("model_name").asText()).isEqualTo(r.getModelName()).isNotBlank();
      assertThat(n.get("model_version").asInt()).isEqualTo(7);
      assertThat(n.get("record_dtype").asText()).isEqualTo(r.getDtype().name());
      assertThat(n.get("dtype").asText())
          .isEqualTo(r.getDtype() == TokenDtype.FP16 ? "float16" : "float32");
      assertThat(n.get("shape").get(0).asInt()).isEqualTo(r.getTokenCount()).isEqualTo(32);
      assertThat(n.get("shape").get(1).asInt()).isEqualTo(r.getTokenDim()).isEqualTo(16);
      float[] expected = TokenPacking.unpack(r);
      JsonNode tokens = n.get("tokens");
      assertThat(tokens.size()).isEqualTo(expected.length);
      for (int k = 0; k < expected.length; k++) {
        // exact: float16/float32 values survive Python's float and JSON's shortest repr
        assertThat((float) tokens.get(k).asDouble()).as("token value %d", k).isEqualTo(expected[k]);
      }
      List<Integer> codes = new ArrayList<>();
      n.get("codes").forEach(c -> codes.add(c.asInt()));
      assertThat(codes).isEqualTo(r.getCodeIndices());
      assertThat(n.get("event_time_ms").asLong()).isEqualTo(r.getEventTime().toEpochMilli());
      assertThat(n.get("event_time_iso").asText())
          .startsWith(r.getEventTime().toString().replace("Z", "").substring(0, 19))
          .endsWith("+00:00");
    }
  }

  @Test
  void pythonDecoderMatchesTheJavaDecodersPixels() throws Exception {
    String python = onnxruntimePython();
    assumeThat(python)
        .as(
            "onnxruntime is not importable by /usr/bin/python3 nor by %s (scripts/install-deps.sh"
                + " test installs it there from the pip index): the Python decode path is not"
                + " tested",
            VENV_PYTHON)
        .isNotNull();
    List<JsonNode> lines = python(python, null, MODEL.toString());
    JsonNode last = lines.get(lines.size() - 1);
    assertThat(last.get("dtype").asText()).isEqualTo("float32");
    assertThat(last.get("shape").toString()).isEqualTo("[" + N + ",1,32,32]");
    assertThat(last.get("uint8_shape").toString()).isEqualTo("[" + N + ",32,32]");
    JsonNode decoded = last.get("decoded");
    assertThat(decoded.size()).isEqualTo(N);
    for (TokenRecord r : sent) {
      float[] expected = javaPixels.get(r.getImageId());
      JsonNode got = decoded.get(r.getImageId());
      assertThat(got.size()).isEqualTo(expected.length);
      double maxAbs = 0;
      for (int k = 0; k < expected.length; k++) {
        maxAbs = Math.max(maxAbs, Math.abs(got.get(k).asDouble() - expected[k]));
      }
      assertThat(maxAbs).as("max |python - java| pixel of %s", r.getImageId()).isLessThan(1e-3);
    }

    // The package's command line, as the README shows it: one JSON line and one image per record.
    Path out = dir.resolve("py-images");
    List<JsonNode> cli =
        run(
            List.of(
                python,
                "-m",
                "softstream_tokens",
                "--bootstrap-servers",
                platform.bootstrapServers(),
                "--schema-registry-url",
                platform.schemaRegistryUrl(),
                "--max",
                Integer.toString(N),
                "--json",
                "--decode",
                MODEL.toString(),
                "--out",
                out.toString()));
    assertThat(cli).hasSize(N);
    for (JsonNode n : cli) {
      assertThat(n.get("shape").toString()).isEqualTo("[32,16]");
      assertThat(Path.of(n.get("saved").asText())).isRegularFile().hasParent(out);
    }
  }

  /** The first of the venv's python and /usr/bin/python3 that imports onnxruntime, or null. */
  static String onnxruntimePython() throws Exception {
    for (String py : List.of(VENV_PYTHON.toString(), "/usr/bin/python3")) {
      if (Files.isExecutable(Path.of(py))) {
        Process p =
            new ProcessBuilder(py, "-c", "import onnxruntime")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
          return py;
        }
        p.destroyForcibly();
      }
    }
    return null;
  }

  /** Runs the check script with PYTHONPATH=clients/python; its stdout, one JSON value per line. */
  private List<JsonNode> python(String python, String group, String modelDir) throws Exception {
    return run(
        List.of(
            python,
            SCRIPT.toString(),
            platform.bootstrapServers(),
            platform.schemaRegistryUrl(),
            topic,
            Integer.toString(N),
            group == null ? "-" : group,
            modelDir));
  }

  /** Runs {@code cmd} with PYTHONPATH=clients/python; its stdout, one JSON value per line. */
  private List<JsonNode> run(List<String> cmd) throws Exception {
    Path out = Files.createTempFile(dir, "py", ".out");
    Path err = Files.createTempFile(dir, "py", ".err");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("PYTHONPATH", ROOT.resolve("clients/python").toString());
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(cmd + " did not finish in 120 s; stderr:\n" + read(err));
    }
    assertThat(p.exitValue()).as("%s exit status; stderr:\n%s", cmd, read(err)).isZero();
    List<JsonNode> lines = new ArrayList<>();
    for (String line : read(out).strip().split("\n")) {
      lines.add(json.readTree(line));
    }
    return lines;
  }

  private static String read(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.UTF_8);
  }
}
