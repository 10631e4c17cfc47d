/**
 * The schema registry itself: {@link io.softstream.schemas.registry.server.SchemaRegistryCore} (state
 * and compatibility rules), {@link io.softstream.schemas.registry.server.KafkaRegistryStore} (durable
 * records in a compacted topic) and {@link io.softstream.schemas.registry.server.SchemaRegistryServer}
 * (the Confluent REST API over the JDK's HTTP server).
 */
package io.softstream.schemas.registry.server;
