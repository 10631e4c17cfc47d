/**
 * The topic layout in one place ({@link io.softstream.topology.TopicLayout}, {@link
 * io.softstream.topology.TopicSpec}), the idempotent topic admin ({@link
 * io.softstream.topology.TopicAdmin}), and model versions on Kafka ({@code models}); the Kafka
 * Streams apps live here too.
 */
package io.softstream.topology;
