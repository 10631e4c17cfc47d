/**
 * The {@code generation} Kafka Streams app: splits large generation requests into unit jobs that
 * several generation workers share, and joins their images back into one completion record per
 * request. Entry point: {@link io.softstream.topology.streams.generation.GenerationApp#topology}.
 */
package io.softstream.topology.streams.generation;
