/**
 * Benchmarks: they print figures (ratios measured side by side in one run), never assert timings.
 * {@link io.softstream.bench.EncodeBenchmark} compares the bare engine, our worker on the embedded
 * broker and an equivalent Python worker, and the engine's FLOP/s with a matmul peak.
 */
package io.softstream.bench;
