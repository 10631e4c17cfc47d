package io.softstream.topology.streams.stats;

import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerdes;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The {@code stats} app as a value: {@link #topology} builds it and does nothing else.
 *
 * <p>Counts, per window of record time (the time each record was written): images in (records on
 * images, not decoded), tokens out and cache hits per model version and worker, dead letters per
 * error class and worker, and the end-to-end latency of each token record (its record timestamp
 * minus its {@code event_time}) as p50/p95/p99. Windows: 1-minute tumbling ({@link #STORE_1M}) and
 * 5-minute hopping by 1 minute ({@link #STORE_5M}); a record later than the window end plus {@link
 * Settings#grace} is dropped by Streams (and counted in its dropped-records metric). Every update
 * goes to the compacted pipeline-stats topic as JSON (see {@link StatsJson}), keyed {@code
 * <window>|<start>|<metric>|<model>|<worker>|<error class>}, so the topic keeps the latest value of
 * every window and key; {@link StatsQueries} reads the same stores over HTTP.
 *
 * <p>Token records count as cache hits when their schema has a boolean {@value #CACHE_HIT_FIELD}
 * field that is true (the ingest gate's token cache adds it); records without it count none. The
 * worker comes from a {@value #WORKER_FIELD} string field when the schema has one, else "-".
 */
public final class StatsApp implements StreamsApp {
  /** The app's name: application.id {@code softstream-stats}. */
  public static final String NAME = "stats";

  public static final String STORE_1M = "stats-1m-store";
  public static final String STORE_5M = "stats-5m-store";
  public static final String CACHE_HIT_FIELD = "cache_hit";
  public static final String WORKER_FIELD = "worker_id";

  static final String IMAGES_IN = "images_in";
  static final String TOKENS_OUT = "tokens_out";
  static final String CACHE_HITS = "cache_hits";
  static final String DEAD_LETTERS = "dead_letters";

  public StatsApp() {}

  /**
   * Settings of the stats app.
   *
   * @param grace how long after a window's end a late record still counts
   * @param retention how long window stores (and so HTTP queries) keep windows; at least the
   *     largest window (5 minutes) plus grace
   * @param serdeConfig the Avro serde settings ({@code schema.registry.url}, ...)
   */
  public record Settings(Duration grace, Duration retention, Map<String, ?> serdeConfig) {
    public Settings {
      if (grace == null || grace.isNegative()) {
        throw new IllegalArgumentException("grace must be zero or positive, was " + grace);
      }
      if (retention == null || retention.compareTo(Duration.ofMinutes(5).plus(grace)) < 0) {
        throw new IllegalArgumentException(
            "retention ("
                + retention
                + ") must be at least 5 minutes plus grace ("
                + grace
                + "): the 5-minute windows live that long");
      }
      serdeConfig = Map.copyOf(Objects.requireNonNull(serdeConfig, "serdeConfig"));
    }

    /** 10 s grace, windows kept for an hour. */
    public static Settings defaults(Map<String, ?> serdeConfig) {
      return new Settings(Duration.ofSeconds(10), Duration.ofHours(1), serdeConfig);
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Topology topology(StreamsSettings settings) {
    return topology(
        new Settings(
            Duration.ofMillis(settings.getLong(StreamsSettings.STATS_GRACE_MS)),
            Duration.ofMillis(settings.getLong(StreamsSettings.STATS_RETENTION_MS)),
            settings.serdeConfig()),
        settings.topics());
  }

  /** What a statistic is of: a metric and its dimensions ("-" where one does not apply). */
  public record Key(String metric, String model, String worker, String errorClass) {
    static Key of(String metric, String model, String worker, String errorClass) {
      return new Key(metric, clean(model), clean(worker), clean(errorClass));
    }

    private static String clean(String s) {
      return s == null || s.isEmpty() ? "-" : s.replace('|', '/');
    }

    String encode() {
      return metric + "|" + model + "|" + worker + "|" + errorClass;
    }

    static Key decode(String s) {
      String[] p = s.split("\\|", -1);
      return new Key(p[0], p[1], p[2], p[3]);
    }
  }

  /** The app's topology; builds serdes from {@code settings.serdeConfig()} and starts nothing. */
  public static Topology topology(Settings settings, TopicLayout topics) {
    SchemaRegistryClient registry = SchemaRegistryClients.create(settings.serdeConfig());
    Serde<TokenRecord> tokens =
        AvroSerdes.specific(TokenRecord.class, registry, settings.serdeConfig(), false);
    Serde<DeadLetter> deadLetters =
        AvroSerdes.specific(DeadLetter.class, registry, settings.serdeConfig(), false);
    StreamsBuilder b = StreamsSettings.namingCheckedBuilder(NAME);

    // Images are counted, not decoded: the count needs no pixels.
    KStream<String, Long> images =
        b.stream(
                topics.images(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray())
                    .withName("stats-images-source"))
            .map(
                (k, v) -> KeyValue.pair(Key.of(IMAGES_IN, null, null, null).encode(), -1L),
                Named.as("stats-images-to-stats"));
    KStream<String, Long> tokenStats =
        b.stream(
                topics.tokens(),
                Consumed.with(Serdes.String(), tokens).withName("stats-tokens-source"))
            .process(TokenStats::new, Named.as("stats-tokens-to-stats"));
    KStream<String, Long> deadStats =
        b.stream(
                topics.deadLetters(),
                Consumed.with(Serdes.String(), deadLetters).withName("stats-dead-letters-source"))
            .filter((k, v) -> v != null, Named.as("stats-dead-letters-present"))
            .map(
                (k, v) ->
                    KeyValue.pair(
                        Key.of(
                                DEAD_LETTERS,
                                null,
                                v.getWorkerId().toString(),
                                v.getErrorClass().toString())
                            .encode(),
                        -1L),
                Named.as("stats-dead-letters-to-stats"));

    KGroupedStream<String, Long> grouped =
        images
            .merge(tokenStats, Named.as("stats-merge-tokens"))
            .merge(deadStats, Named.as("stats-merge-dead-letters"))
            .groupByKey(Grouped.with("stats-by-key", Serdes.String(), Serdes.Long()));

    window(
            grouped,
            "1m",
            TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), settings.grace()),
            settings.retention())
        .to(
            topics.stats(),
            Produced.with(Serdes.String(), Serdes.String()).withName("stats-1m-sink"));
    window(
            grouped,
            "5m",
            TimeWindows.ofSizeAndGrace(Duration.ofMinutes(5), settings.grace())
                .advanceBy(Duration.ofMinutes(1)),
            settings.retention())
        .to(
            topics.stats(),
            Produced.with(Serdes.String(), Serdes.String()).withName("stats-5m-sink"));
    return b.build();
  }

  private static KStream<String, String> window(
      KGroupedStream<String, Long> grouped, String name, TimeWindows windows, Duration retention) {
    return grouped
        .windowedBy(windows)
        .aggregate(
            Stat::new,
            (key, latency, stat) -> stat.add(latency),
            Named.as("stats-" + name + "-aggregate"),
            Materialized.<String, Stat, WindowStore<Bytes, byte[]>>as("stats-" + name + "-store")
                .withKeySerde(Serdes.String())
                .withValueSerde(Stat.SERDE)
                .withRetention(retention))
        .toStream(Named.as("stats-" + name + "-updates"))
        .map(
            (Windowed<String> w, Stat s) ->
                KeyValue.pair(outputKey(name, w), StatsJson.of(name, w, s)),
            Named.as("stats-" + name + "-to-json"));
  }

  static String outputKey(String window, Windowed<String> w) {
    return window + "|" + Instant.ofEpochMilli(w.window().start()) + "|" + w.key();
  }

  /** Token record → tokens_out (with its latency) and, if marked, cache_hits, per model/worker. */
  static final class TokenStats implements Processor<String, TokenRecord, String, Long> {
    private ProcessorContext<String, Long> context;

    @Override
    public void init(ProcessorContext<String, Long> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, TokenRecord> r) {
      TokenRecord t = r.value();
      if (t == null) {
        return;
      }
      String model = t.getModelName() + ":" + t.getModelVersion();
      String worker = string(t, WORKER_FIELD);
      long eventTime = t.getEventTime() == null ? 0 : t.getEventTime().toEpochMilli();
      // No event time (0, the field's default) means no latency to measure; a clock skewed
      // backwards is clamped to 0 rather than dropped, so counts and samples agree.
      long latency = eventTime > 0 ? Math.max(0, r.timestamp() - eventTime) : -1;
      context.forward(
          r.withKey(Key.of(TOKENS_OUT, model, worker, null).encode()).withValue(latency));
      if (Boolean.TRUE.equals(field(t, CACHE_HIT_FIELD))) {
        context.forward(r.withKey(Key.of(CACHE_HITS, model, worker, null).encode()).withValue(-1L));
      }
    }
  }

  /** A field by name if the record's schema has it (added by a newer schema), else null. */
  static Object field(IndexedRecord r, String name) {
    Schema.Field f = r.getSchema().getField(name);
    return f == null ? null : r.get(f.pos());
  }

  private static String string(IndexedRecord r, String name) {
    Object v = field(r, name);
    return v == null ? null : v.toString();
  }
}
