package io.softstream.topology.streams.ingest;

import io.softstream.schemas.avro.ModelVersion;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerdes;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The ingest gate (app {@code ingest}, application.id {@code softstream-ingest}) with its token
 * cache.
 *
 * <pre>
 * [image-ingest] ─▶ ingest-check ─┬─ bad ─────────────────────────────▶ [dead-letters]
 *   (GlobalStore model-versions)  ├─ good, no active encoder / cache off ▶ [images]
 *                                 └─ good ─▶ (images-by-content) ─▶ cache-lookup ─┬─ hit ─▶ [tokens]
 *                                                                   (token-cache) └─ miss ▶ [images]
 * [tokens] ─▶ key by model:version:sha256 ─▶ (tokens-by-content) ─▶ cache-feed ─▶ (token-cache)
 * </pre>
 *
 * <p><b>Gate.</b> Every record on {@code image-ingest} is checked without decoding a pixel: our
 * wire format and an {@code ImageEvent} (else NotConfluentAvro, UnknownSchemaId, TruncatedRecord,
 * WrongSchema), an id (MissingId), and the payload size, the format from its magic bytes and the
 * pixel count its header declares against the workers' limits ({@link
 * io.softstream.schemas.images.ImageLimits}: EmptyPayload, OversizedPayload, UndecodableImage,
 * EmptyImage, OversizedImage — the workers' error classes and reasons). Good events go on unchanged
 * (same key, same bytes); bad ones become {@code DeadLetter}s. Producers that write to {@code
 * images} directly bypass the gate and keep working.
 *
 * <p><b>Token cache.</b> Part of this app, not a separate one, because a lookup must read the cache
 * in the same task that decides where the image goes: the key of both sides is {@code
 * model:version:sha256} (the ACTIVE encoder from the model table, and SHA-256 of the image bytes),
 * and both the images and the tokens are repartitioned by it into co-partitioned topics that feed
 * one task, which owns the {@code token-cache} store (RocksDB with a changelog). A hit is answered
 * by the gate: a {@code TokenRecord} for the new image id with the cached tokens, {@code
 * cache_hit=true}, on {@code tokens}; no worker sees the image. A miss goes to {@code images}; when
 * the worker's {@code TokenRecord} (with {@code content_sha256}) comes back on {@code tokens}, it
 * fills the cache. A new model version misses by construction (its version is in the key). Entries
 * expire {@code cache.retention.ms} after they were last written (a punctuator deletes them, a
 * lookup ignores them). With no ACTIVE encoder, or {@code cache.enabled=false}, good images go
 * straight to {@code images} and are not repartitioned.
 *
 * <p>Guarantees under {@code exactly_once_v2}: each ingested record yields exactly one output
 * (image, token record or dead letter), also across crashes; the cache is only ever a shortcut, so
 * a lost or stale entry costs an encode, never a wrong token. Metrics: {@code hit-total}/{@code
 * miss-total} (group {@code stream-ingest-gate-metrics}), {@code dead-letter-total}, {@code
 * forwarded-total}.
 */
public final class IngestGateApp implements StreamsApp {
  public static final String NAME = "ingest";
  public static final String MODEL_STORE = "model-versions";
  public static final String CACHE_STORE = "token-cache";

  @Override
  public String name() {
    return NAME;
  }

  /**
   * Every image crosses the gate in two transactions (its content-hash repartition topic), so the
   * gate commits every 50 ms instead of Kafka Streams' 100 (the demo's send-to-token p50 went from
   * ~320 to ~220 ms), and polls for at most 10 ms instead of 100: a commit is only made between
   * polls, so the second transaction of a lone image could wait for the next image or the poll's
   * timeout (demo, four runs each, interleaved: largest gap between token records 206-248 ->
   * 172-202 ms, p99 277-291 -> 215-280 ms, p50 139-149 -> 150-158 ms).
   */
  @Override
  public Map<String, Object> streamsDefaults() {
    return Map.of(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50, StreamsConfig.POLL_MS_CONFIG, 10L);
  }

  @Override
  public Topology topology(StreamsSettings settings) {
    TopicLayout topics = settings.topics();
    Map<String, Object> serde = settings.serdeConfig();
    // Built here, used lazily: no registry call happens until a record is processed.
    SchemaRegistryClient registry = SchemaRegistryClients.create(serde);
    Serde<TokenRecord> tokenSerde = AvroSerdes.specific(TokenRecord.class, registry, serde, false);
    Serde<ModelVersion> modelSerde =
        AvroSerdes.specific(ModelVersion.class, registry, serde, false);
    Gate.Settings gate =
        new Gate.Settings(
            topics,
            settings.imageLimits(),
            settings.getBoolean(StreamsSettings.CACHE_ENABLED),
            settings.getString(StreamsSettings.CACHE_MODEL_NAME),
            Duration.ofMillis(settings.getLong(StreamsSettings.CACHE_RETENTION_MS)),
            settings.applicationId(NAME),
            registry,
            serde);
    int partitions = settings.getInt(StreamsSettings.CACHE_PARTITIONS);

    StreamsBuilder b =
        new StreamsBuilder(new TopologyConfig(new StreamsConfig(settings.streamsProperties(NAME))));
    b.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(MODEL_STORE), Serdes.String(), ModelTable.ENTRY_SERDE)
            .withLoggingDisabled(),
        topics.modelVersions(),
        Consumed.with(Serdes.String(), modelSerde).withName("model-versions-source"),
        ModelTable.Updater::new);
    b.addStateStore(
        Stores.timestampedKeyValueStoreBuilder(
            Stores.persistentTimestampedKeyValueStore(CACHE_STORE), Serdes.String(), tokenSerde));

    KStream<byte[], Gate.Routed> checked =
        b.stream(
                topics.ingest(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("ingest-source"))
            .process(() -> new Gate.Check(gate), Named.as("ingest-check"));
    route(checked, "checked-", topics)
        .get("checked-lookup")
        .mapValues(Gate.Routed::value, Named.as("lookup-bytes"))
        .repartition(
            Repartitioned.with(Serdes.ByteArray(), Serdes.ByteArray())
                .withName("images-by-content")
                .withNumberOfPartitions(partitions))
        .process(() -> new Gate.Lookup(gate), Named.as("cache-lookup"), CACHE_STORE)
        .split(Named.as("looked-up-"))
        .branch(
            (k, v) -> v.route() == Gate.Route.TOKEN,
            Branched.withConsumer(
                s ->
                    s.mapValues(Gate.Routed::value, Named.as("hit-bytes"))
                        .to(
                            topics.tokens(),
                            Produced.with(Serdes.ByteArray(), Serdes.ByteArray())
                                .withName("cache-hits-to-tokens")),
                "hit"))
        .defaultBranch(
            Branched.withConsumer(
                s ->
                    s.mapValues(Gate.Routed::value, Named.as("miss-bytes"))
                        .to(
                            topics.images(),
                            Produced.with(Serdes.ByteArray(), Serdes.ByteArray())
                                .withName("cache-misses-to-images")),
                "miss"));

    b.stream(
            topics.tokens(),
            Consumed.with(Serdes.ByteArray(), tokenSerde).withName("tokens-source"))
        .filter((k, v) -> v != null && v.getContentSha256() != null, Named.as("tokens-with-hash"))
        .selectKey(
            (k, v) ->
                Gate.cacheKey(v.getModelName(), v.getModelVersion(), v.getContentSha256())
                    .getBytes(StandardCharsets.UTF_8),
            Named.as("tokens-key-by-content"))
        .repartition(
            Repartitioned.with(Serdes.ByteArray(), tokenSerde)
                .withName("tokens-by-content")
                .withNumberOfPartitions(partitions))
        .process(() -> new Gate.Feed(gate), Named.as("cache-feed"), CACHE_STORE);
    return b.build();
  }

  /** Dead letters and plain forwards go out here; lookups come back in the returned branch map. */
  private static Map<String, KStream<byte[], Gate.Routed>> route(
      KStream<byte[], Gate.Routed> checked, String prefix, TopicLayout topics) {
    return checked
        .split(Named.as(prefix))
        .branch(
            (k, v) -> v.route() == Gate.Route.DEAD_LETTER,
            Branched.withConsumer(
                s ->
                    s.mapValues(Gate.Routed::value, Named.as("dead-letter-bytes"))
                        .to(
                            topics.deadLetters(),
                            Produced.with(Serdes.ByteArray(), Serdes.ByteArray())
                                .withName("rejected-to-dead-letters")),
                "dead-letters"))
        .branch(
            (k, v) -> v.route() == Gate.Route.IMAGE,
            Branched.withConsumer(
                s ->
                    s.mapValues(Gate.Routed::value, Named.as("image-bytes"))
                        .to(
                            topics.images(),
                            Produced.with(Serdes.ByteArray(), Serdes.ByteArray())
                                .withName("accepted-to-images")),
                "images"))
        .defaultBranch(Branched.as("lookup"));
  }
}
