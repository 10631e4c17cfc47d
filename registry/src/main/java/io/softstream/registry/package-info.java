/**
 * The Confluent-compatible schema registry server: the REST API over the JDK's HTTP server ({@link
 * io.softstream.registry.SchemaRegistryServer}) on the shared rules of {@code
 * io.softstream.schemas.registry.core}, every change stored in a compacted topic ({@link
 * io.softstream.registry.KafkaRegistryStore}). Clients and workers do not ship it: they need only
 * the serde and the client in {@code schemas}.
 */
package io.softstream.registry;
