/** Settings of the generation worker (keys read from the worker config's originals). */
package io.softstream.worker.generation;
