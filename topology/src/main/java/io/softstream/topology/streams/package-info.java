/**
 * The Kafka Streams apps and their runner: each app is a {@link
 * io.softstream.topology.streams.StreamsApp} (a name and a function from {@link
 * io.softstream.topology.streams.StreamsSettings} to a {@code Topology}), listed once in {@link
 * io.softstream.topology.streams.StreamsApps}, and run by {@link
 * io.softstream.topology.streams.StreamsRunner} with exactly_once_v2, dead-letter exception
 * handlers, /metrics, /health and /stats.
 */
package io.softstream.topology.streams;
