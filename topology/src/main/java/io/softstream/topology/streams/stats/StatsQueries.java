package io.softstream.topology.streams.stats;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * Interactive queries over the stats app's window stores, for a dashboard. {@link #handle} answers
 * {@code /stats/1m} and {@code /stats/5m} (optionally {@code ?minutes=N}, default 15, at most 1440)
 * with a JSON array of every statistic (as {@link StatsJson}) whose window started in the last N
 * minutes, oldest first; {@link #httpHandler} mounts it on a JDK {@code HttpServer}.
 *
 * <p>Stores are local: with several instances each answers for its own partitions (the
 * pipeline-stats topic holds everything). While the app is not RUNNING the stores may be
 * unavailable: the answer is then 503 with the reason.
 */
public final class StatsQueries {
  /** An HTTP status and a JSON body. */
  public record Response(int status, String json) {}

  private final Function<String, ReadOnlyWindowStore<String, Stat>> stores;
  private final Clock clock;

  /**
   * @param stores the window store of a name ({@link StatsApp#STORE_1M}, {@link
   *     StatsApp#STORE_5M}); a {@code TopologyTestDriver}'s {@code getWindowStore} in tests
   */
  public StatsQueries(Function<String, ReadOnlyWindowStore<String, Stat>> stores, Clock clock) {
    this.stores = stores;
    this.clock = clock;
  }

  /** Queries over a running app's stores. */
  public static StatsQueries of(KafkaStreams streams) {
    return new StatsQueries(
        name ->
            streams.store(
                StoreQueryParameters.fromNameAndType(
                    name, QueryableStoreTypes.<String, Stat>windowStore())),
        Clock.systemUTC());
  }

  /** Answers one request path such as {@code /stats/1m?minutes=5}. */
  public Response handle(String path) {
    String query = "";
    int q = path.indexOf('?');
    if (q >= 0) {
      query = path.substring(q + 1);
      path = path.substring(0, q);
    }
    String window = path.replaceAll("/+$", "").replaceFirst("^.*/", "");
    if (!window.equals("1m") && !window.equals("5m")) {
      return error(404, "unknown path " + path + "; ask /stats/1m or /stats/5m (?minutes=N)");
    }
    long minutes = 15;
    for (String kv : query.split("&")) {
      if (kv.startsWith("minutes=")) {
        try {
          minutes = Long.parseLong(kv.substring("minutes=".length()));
        } catch (NumberFormatException e) {
          minutes = -1;
        }
        if (minutes < 1 || minutes > 1440) {
          return error(400, "minutes must be a whole number in 1..1440, was " + kv.substring(8));
        }
      }
    }
    Instant now = clock.instant();
    Instant from = now.minus(Duration.ofMinutes(minutes));
    StringBuilder b = new StringBuilder("[");
    try (KeyValueIterator<Windowed<String>, Stat> it =
        stores
            .apply(window.equals("1m") ? StatsApp.STORE_1M : StatsApp.STORE_5M)
            .fetchAll(from, now)) {
      while (it.hasNext()) {
        KeyValue<Windowed<String>, Stat> kv = it.next();
        if (b.length() > 1) {
          b.append(',');
        }
        b.append(StatsJson.of(window, kv.key, kv.value));
      }
    } catch (InvalidStateStoreException e) {
      return error(503, "stats stores not queryable now (" + e.getMessage() + "); retry shortly");
    }
    return new Response(200, b.append(']').toString());
  }

  private static Response error(int status, String message) {
    return new Response(status, "{\"error\":" + StatsJson.quote(message) + "}");
  }

  /** A JDK {@code HttpServer} handler answering GET with {@link #handle}. */
  public HttpHandler httpHandler() {
    return (HttpExchange ex) -> {
      Response r =
          ex.getRequestMethod().equals("GET")
              ? handle(ex.getRequestURI().toString())
              : error(405, "only GET is answered");
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
