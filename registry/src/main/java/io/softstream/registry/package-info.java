/**
 * The schema registry itself: {@link io.softstream.schemas.registry.core.SchemaRegistryCore} (state
 * and compatibility rules), {@link io.softstream.registry.KafkaRegistryStore} (durable
 * records in a compacted topic) and {@link io.softstream.registry.SchemaRegistryServer}
 * (the Confluent REST API over the JDK's HTTP server).
 */
package io.softstream.registry;

import io.softstream.schemas.registry.core.SchemaRegistryCore;
