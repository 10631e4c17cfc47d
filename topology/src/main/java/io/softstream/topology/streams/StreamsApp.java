package io.softstream.topology.streams;

import java.util.Map;
import org.apache.kafka.streams.Topology;

/**
 * One Kafka Streams application: a name and a function from settings to a {@link Topology}. The
 * topology is a value: {@link #topology} builds it and does nothing else (no clients, no threads),
 * so {@code TopologyTestDriver} tests, {@code softstream topology describe} and the {@link
 * StreamsRunner} all call the same function.
 *
 * <p>Contract for implementations:
 *
 * <ul>
 *   <li>{@link #name()} is short, lower-case and stable ({@code ingest}, {@code generation}, {@code
 *       stats}): the application.id is {@code <topic.prefix>softstream-<name>}, and changing it
 *       abandons the app's committed offsets and state.
 *   <li>Build with {@code new StreamsBuilder(new TopologyConfig(new
 *       StreamsConfig(settings.streamsProperties(name()))))} so that {@code
 *       ensure.explicit.internal.resource.naming} is checked at build time: name every processor,
 *       store and repartition topic ({@code Named.as}, {@code Materialized.as}, {@code
 *       Repartitioned.as}...).
 *   <li>Bad records go to {@link io.softstream.topology.TopicLayout#deadLetters()} as {@code
 *       DeadLetter}s; an exception thrown from a processor is dead-lettered by {@link
 *       DeadLetterHandlers.Processing}, one that cannot be deserialized by {@link
 *       DeadLetterHandlers.Deserialization}.
 *   <li>Keep a golden {@code Topology.describe()} text in the app's test.
 * </ul>
 *
 * <p>To add an app, implement this and add one line to {@link StreamsApps#all()}.
 */
public interface StreamsApp {
  /** The app's short name, e.g. {@code ingest}. */
  String name();

  /** The app's topology under {@code settings}; pure, safe to call many times. */
  Topology topology(StreamsSettings settings);

  /**
   * Kafka Streams settings this app needs other than the common ones of {@link
   * StreamsSettings#streamsProperties}; a pass-through key of the same name still wins.
   */
  default Map<String, Object> streamsDefaults() {
    return Map.of();
  }
}
