package io.softstream.topology.streams.similarity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.schemas.tokens.TokenIndex;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Interactive queries over the similarity app's store. {@code POST /similar} with a JSON body
 * {@code {"model": "NAME", "version": V, "tokens": [N*d floats], "k": 10}} answers {@code {"hits":
 * [{"id", "cosine"}...], "indexed": n, "skipped": m}}: the k stored images of that model version
 * whose decoded tokens are most similar by cosine, most similar first. Records whose payload needs
 * the model's codebook ({@code topk:K}, {@code codes}: the app holds no models) or has another
 * shape are counted in {@code skipped}. Stores are local: with several instances each answers for
 * its own partitions. While the app is not RUNNING the answer is 503 with the reason.
 */
public final class SimilarityQueries {
  /** An HTTP status and a JSON body. */
  public record Response(int status, String json) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final Supplier<ReadOnlyKeyValueStore<String, TokenRecord>> store;

  /**
   * @param store the app's store; a {@code TopologyTestDriver}'s in tests
   */
  public SimilarityQueries(Supplier<ReadOnlyKeyValueStore<String, TokenRecord>> store) {
    this.store = store;
  }

  /** Queries over a running app's store. */
  public static SimilarityQueries of(KafkaStreams streams) {
    return new SimilarityQueries(
        () ->
            streams.store(
                StoreQueryParameters.fromNameAndType(
                    SimilarityApp.STORE,
                    QueryableStoreTypes.<String, TokenRecord>keyValueStore())));
  }

  /** Answers one query body. */
  public Response handle(String body) {
    String model;
    int version, k;
    float[] q;
    try {
      JsonNode n = JSON.readTree(body);
      model = n.path("model").asText("");
      version = n.path("version").asInt(-1);
      k = n.path("k").asInt(10);
      JsonNode t = n.path("tokens");
      if (model.isEmpty() || version < 0 || !t.isArray() || t.isEmpty() || k < 1) {
        return error(
            400,
            "body must be {\"model\": NAME, \"version\": V, \"tokens\": [floats], \"k\": K>=1}");
      }
      q = new float[t.size()];
      for (int i = 0; i < q.length; i++) {
        q[i] = (float) t.get(i).asDouble();
      }
    } catch (IOException e) {
      return error(400, "body is not JSON: " + e.getMessage());
    }
    TokenIndex index = new TokenIndex();
    int skipped = 0;
    try (KeyValueIterator<String, TokenRecord> it = store.get().all()) {
      while (it.hasNext()) {
        KeyValue<String, TokenRecord> kv = it.next();
        TokenRecord r = kv.value;
        if (r == null || !r.getModelName().equals(model) || r.getModelVersion() != version) {
          continue;
        }
        if (TokenCodec.encodingOf(r).needsCodebook()
            || r.getTokenCount() * r.getTokenDim() != q.length) {
          skipped++;
          continue;
        }
        try {
          index.put(kv.key, TokenCodec.decode(r, null));
        } catch (IllegalArgumentException e) {
          skipped++;
        }
      }
    } catch (InvalidStateStoreException e) {
      return error(
          503, "similarity store not queryable now (" + e.getMessage() + "); retry shortly");
    }
    ObjectNode out = JSON.createObjectNode();
    ArrayNode hits = out.putArray("hits");
    for (TokenIndex.Hit h : index.nearest(q, k)) {
      hits.addObject().put("id", h.id()).put("cosine", h.cosine());
    }
    out.put("indexed", index.size()).put("skipped", skipped);
    return new Response(200, out.toString());
  }

  private static Response error(int status, String message) {
    return new Response(status, JSON.createObjectNode().put("error", message).toString());
  }

  /** A JDK {@code HttpServer} handler answering POST with {@link #handle}. */
  public HttpHandler httpHandler() {
    return (HttpExchange ex) -> {
      Response r =
          ex.getRequestMethod().equals("POST")
              ? handle(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8))
              : error(405, "POST a query: {\"model\", \"version\", \"tokens\", \"k\"}");
      byte[] body = r.json().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(r.status(), body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      } catch (IOException e) {
        // The client went away; nothing to answer.
      }
    };
  }
}
