/**
 * Data sets read from Debian packages: the one Fashion-MNIST reader ({@link
 * io.softstream.model.data.FashionMnist}) that the trainer, the demo and the benchmarks share.
 */
package io.softstream.model.data;
