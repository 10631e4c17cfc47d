/**
 * Workers that operators run by the dozen in one consumer group: {@link
 * io.softstream.worker.EncodeWorker} (images to tokens) and {@link
 * io.softstream.worker.DecodeWorker} (tokens to images), configured by {@link
 * io.softstream.worker.WorkerConfig}. The exactly-once loop, image decoding, dead letters and
 * metrics live in {@code internals}.
 */
package io.softstream.worker;
