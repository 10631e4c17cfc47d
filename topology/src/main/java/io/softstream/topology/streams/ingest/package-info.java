/**
 * The ingest gate: validates image events without decoding pixels, answers identical bytes already
 * tokenized by the ACTIVE encoder from its content-hash token cache, and forwards the rest to the
 * encode workers ({@link io.softstream.topology.streams.ingest.IngestGateApp}).
 */
package io.softstream.topology.streams.ingest;
