package io.softstream.topology.streams.similarity;

import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroSerdes;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.streams.StreamsApp;
import io.softstream.topology.streams.StreamsSettings;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The {@code similarity} app as a value: {@link #topology} builds it and does nothing else.
 *
 * <p>Tables the tokens topic by image id into {@link #STORE}: the latest TokenRecord of every image
 * (a newer record, e.g. from a new model version, replaces the older one). {@link
 * SimilarityQueries} reads the store: cosine similarity over the decoded tokens of the records of
 * one model version, brute force per query.
 */
public final class SimilarityApp implements StreamsApp {
  /** The app's name: application.id {@code softstream-similarity}. */
  public static final String NAME = "similarity";

  public static final String STORE = "similarity-tokens-store";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Topology topology(StreamsSettings settings) {
    return topology(settings.serdeConfig(), settings.topics());
  }

  /** The app's topology; builds its serde from {@code serdeConfig} and starts nothing. */
  public static Topology topology(Map<String, ?> serdeConfig, TopicLayout topics) {
    SchemaRegistryClient registry = SchemaRegistryClients.create(serdeConfig);
    Serde<TokenRecord> tokens =
        AvroSerdes.specific(TokenRecord.class, registry, serdeConfig, false);
    StreamsBuilder b = StreamsSettings.namingCheckedBuilder(NAME);
    b.table(
        topics.tokens(),
        Consumed.with(Serdes.String(), tokens).withName("similarity-tokens"),
        Materialized.<String, TokenRecord, KeyValueStore<Bytes, byte[]>>as(STORE)
            .withKeySerde(Serdes.String())
            .withValueSerde(tokens));
    return b.build();
  }
}
