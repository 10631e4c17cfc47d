/**
 * The {@code similarity} Kafka Streams app: the latest TokenRecord of every image in a key-value
 * store, and {@link io.softstream.topology.streams.similarity.SimilarityQueries} answering the
 * nearest stored images (cosine over their tokens) over HTTP. Entry point: {@link
 * io.softstream.topology.streams.similarity.SimilarityApp#topology}.
 */
package io.softstream.topology.streams.similarity;
