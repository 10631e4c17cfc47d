/**
 * The {@code stats} Kafka Streams app: windowed pipeline statistics (counts and end-to-end latency
 * percentiles) to the compacted pipeline-stats topic, and {@link
 * io.softstream.topology.streams.stats.StatsQueries} to read its window stores over HTTP. Entry
 * point: {@link io.softstream.topology.streams.stats.StatsApp#topology}.
 */
package io.softstream.topology.streams.stats;
