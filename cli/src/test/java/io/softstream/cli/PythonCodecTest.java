package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.OnnxCodebook;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.schemas.tokens.TokenCodec.Encoding;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * clients/python's numpy codec ({@code softstream_tokens.codec}) decodes every payload encoding of
 * Java's {@link TokenCodec} to the same values, with the codebook it reads itself from the shipped
 * model's encoder.onnx; tokens are the shipped encoder's, of random images.
 */
class PythonCodecTest {
  static final Path ROOT = PythonReaderIT.ROOT;
  static final Path MODEL = ROOT.resolve("models/softvq-fmnist-32-next");

  @TempDir Path dir;

  @Test
  void pythonDecodesEveryEncodingAsJavaDoes() throws Exception {
    float[] z;
    TokenizerConfig c;
    try (TokenizerRuntime rt =
        TokenizerRuntimes.open(MODEL, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.ENCODER)) {
      c = rt.config();
      float[] px = new float[c.channels() * c.imageSize() * c.imageSize()];
      Random r = new Random(5);
      for (int i = 0; i < px.length; i++) {
        px[i] = r.nextFloat() * 2 - 1;
      }
      z = rt.encode(px, 1).values();
    }
    Codebook cb =
        Codebook.normalise(
            c.numCodebooks(), c.codebookSize(), c.codeDim(), OnnxCodebook.read(MODEL, c));
    int n = c.tokens(), d = c.codeDim();
    ObjectMapper json = new ObjectMapper();
    ObjectNode job =
        json.createObjectNode().put("model_dir", MODEL.toString()).put("n", n).put("d", d);
    ArrayNode book = job.putArray("codebook");
    for (float v : cb.unit()) {
      book.add(v);
    }
    ArrayNode cases = job.putArray("cases");
    List<String> encodings =
        List.of("fp32", "fp16", "int8", "int8u", "topk:1", "topk:2", "topk:4", "codes");
    for (String name : encodings) {
      Encoding e = Encoding.parse(name);
      byte[] payload = TokenCodec.encode(z, n, d, e, cb);
      ObjectNode k =
          cases
              .addObject()
              .put("encoding", name)
              .put("dtype", e == Encoding.FP16 ? "FP16" : "FP32")
              .put("payload", Base64.getEncoder().encodeToString(payload));
      ArrayNode expected = k.putArray("expected");
      for (float v : TokenCodec.decode(payload, n, d, e, cb)) {
        expected.add(v);
      }
    }
    Path in = dir.resolve("job.json");
    json.writeValue(in.toFile(), job);
    Path out = dir.resolve("out.json");
    Path err = dir.resolve("err.txt");
    ProcessBuilder pb =
        new ProcessBuilder(
                "/usr/bin/python3",
                ROOT.resolve("cli/src/test/resources/python/codec_check.py").toString())
            .redirectInput(in.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    pb.environment().put("PYTHONPATH", ROOT.resolve("clients/python").toString());
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    Process p = pb.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue())
        .as("python stderr: %s", Files.readString(err, StandardCharsets.UTF_8))
        .isZero();
    JsonNode got = json.readTree(out.toFile());
    assertThat(got.get("codebook").asDouble()).isLessThan(1e-6);
    for (String name : encodings) {
      assertThat(got.get(name).asDouble()).as(name + ": max |python - java|").isLessThan(1e-6);
    }
    assertThat(got.get("error").asText())
        .isEqualTo("TokenRecord cut: payload of 3 bytes; 32 tokens x 16 dims in topk:2 need 136");
  }
}
