package io.softstream.topology.streams.stats;

import java.time.Instant;
import org.apache.kafka.streams.kstream.Windowed;

/**
 * The JSON value of one statistic, on pipeline-stats and from {@link StatsQueries}, e.g.
 *
 * <pre>{@code
 * {"window":"1m","start":"2026-01-01T00:01:00Z","end":"2026-01-01T00:02:00Z",
 *  "metric":"tokens_out","model":"softvq-fmnist:3","worker":"enc-1","error_class":"-",
 *  "count":120,"latency_ms":{"samples":120,"p50":41,"p95":88,"p99":130}}
 * }</pre>
 *
 * {@code metric} is one of images_in, tokens_out, cache_hits, dead_letters; a dimension that does
 * not apply is "-"; {@code latency_ms} is present on tokens_out only (nearest-rank percentiles,
 * exact below 1 s, 3 significant digits above). Version 1 of this layout: fields are only ever
 * added.
 */
public final class StatsJson {
  private StatsJson() {}

  static String of(String window, Windowed<String> w, Stat s) {
    return of(window, w.window().start(), w.window().end(), StatsApp.Key.decode(w.key()), s);
  }

  static String of(String window, long startMs, long endMs, StatsApp.Key k, Stat s) {
    StringBuilder b = new StringBuilder(256);
    b.append("{\"window\":").append(quote(window));
    b.append(",\"start\":").append(quote(Instant.ofEpochMilli(startMs).toString()));
    b.append(",\"end\":").append(quote(Instant.ofEpochMilli(endMs).toString()));
    b.append(",\"metric\":").append(quote(k.metric()));
    b.append(",\"model\":").append(quote(k.model()));
    b.append(",\"worker\":").append(quote(k.worker()));
    b.append(",\"error_class\":").append(quote(k.errorClass()));
    b.append(",\"count\":").append(s.count());
    if (k.metric().equals(StatsApp.TOKENS_OUT)) {
      b.append(",\"latency_ms\":{\"samples\":").append(s.latencySamples());
      b.append(",\"p50\":").append(s.percentile(50));
      b.append(",\"p95\":").append(s.percentile(95));
      b.append(",\"p99\":").append(s.percentile(99)).append('}');
    }
    return b.append('}').toString();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
