package io.softstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.tokens.TokenIndex;
import io.softstream.worker.TokenDecoding;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The stored images nearest to an image file, by cosine similarity over their tokens. */
@Command(
    name = "similar",
    mixinStandardHelpOptions = true,
    description = {
      "Encode an image and print the k stored images whose tokens are nearest by cosine (one model version).",
      "With --url: asks a running similarity app (softstream topology run --apps similarity: its HTTP"
          + " endpoint, POST /similar; dense, int8 and int8u records). Without: reads the tokens topic to its end and"
          + " builds the index in this process (every encoding; topk/codes with the model's codebook)."
    })
public final class SimilarCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Option(names = "--image", required = true, description = "The query image (PNG, JPEG, ...).")
  Path image;

  @Option(
      names = "--k",
      defaultValue = "10",
      description = "How many neighbours (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(
      names = "--model",
      description = "Tokenizer directory (default: the shipped Fashion-MNIST model).")
  Path model;

  @Option(
      names = "--model-name",
      description = "Model name the stored records carry (default: the model card's name).")
  String modelName;

  @Option(
      names = "--model-version",
      defaultValue = "1",
      description = "Version the stored records carry (default: ${DEFAULT-VALUE}).")
  int version;

  @Option(
      names = "--url",
      description =
          "Base URL of a running similarity app's HTTP endpoint (http://HOST:PORT, the StreamsRunner's"
              + " metrics port); default: build the index from --topic.")
  String url;

  @Option(
      names = "--topic",
      defaultValue = "tokens",
      description = "Token topic (default: ${DEFAULT-VALUE}).")
  String topic;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description = "auto|onnxruntime|pytorch (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (k < 1) {
      throw new IllegalArgumentException("--k must be at least 1, was " + k);
    }
    PrintWriter out = spec.commandLine().getOut();
    Path dir = model != null ? model : ShippedModels.fashionMnist();
    float[] query;
    String name;
    try (TokenizerRuntime rt =
        TokenizerRuntimes.open(dir, EngineKind.parse(engine), TokenizerRuntimes.Part.ENCODER)) {
      TokenizerConfig c = rt.config();
      ImageTranslator pre =
          new ImageTranslator(
              c.imageSize(), c.channels(), ImageTranslator.Resize.FIT, ImageTranslator.FILE_LIMITS);
      float[] px = new float[pre.floatsPerImage()];
      pre.decodeInto(Files.readAllBytes(image), "", px, 0);
      query = rt.encode(px, 1).values();
      name = modelName != null ? modelName : rt.card().name();
    }
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode answer;
    if (url != null) {
      ObjectNode body =
          mapper.createObjectNode().put("model", name).put("version", version).put("k", k);
      var tokens = body.putArray("tokens");
      for (float v : query) {
        tokens.add(v);
      }
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(url.replaceAll("/+$", "") + "/similar"))
                      .timeout(Duration.ofSeconds(30))
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException(
            url + "/similar answered " + r.statusCode() + ": " + r.body());
      }
      answer = (ObjectNode) mapper.readTree(r.body());
    } else {
      answer = fromTopic(dir, name, query, mapper);
    }
    answer.put("model", name).put("version", version);
    if (json) {
      out.println(answer);
    } else {
      out.printf(
          "%d images of %s:%d indexed%s; nearest %d:%n",
          answer.get("indexed").asInt(),
          name,
          version,
          answer.get("skipped").asInt() > 0
              ? " (" + answer.get("skipped").asInt() + " skipped: payload needs the codebook)"
              : "",
          answer.get("hits").size());
      int rank = 1;
      for (JsonNode h : answer.get("hits")) {
        out.printf("%2d  %-40s %.4f%n", rank++, h.get("id").asText(), h.get("cosine").asDouble());
      }
    }
    out.flush();
    return answer.get("hits").isEmpty() ? 1 : 0;
  }

  /** Reads the topic to its end (committed records), indexes the records of the model version. */
  private ObjectNode fromTopic(Path dir, String name, float[] query, ObjectMapper mapper)
      throws Exception {
    ClusterCheck.require(kafka.clientProperties());
    TokenIndex index = new TokenIndex();
    try (TokenDecoding decoding =
            TokenDecoding.open(dir, EngineKind.parse(engine), name, version, 1);
        TopicToEnd<TokenRecord> in =
            TopicToEnd.open(kafka.clientProperties(), topic, TokenRecord.class)) {
      while (!in.atEnd()) {
        for (TokenRecord t : in.poll()) {
          if (t != null
              && t.getModelName().equals(name)
              && t.getModelVersion() == version
              && t.getTokenCount() * t.getTokenDim() == query.length) {
            index.put(t.getImageId(), decoding.tokens(t));
          }
        }
      }
    }
    ObjectNode a = mapper.createObjectNode();
    var hits = a.putArray("hits");
    for (TokenIndex.Hit h : index.nearest(query, k)) {
      hits.addObject().put("id", h.id()).put("cosine", h.cosine());
    }
    a.put("indexed", index.size()).put("skipped", 0);
    return a;
  }
}
