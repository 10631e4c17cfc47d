/**
 * Settings of the generation worker (declared once with a ConfigDef, read from the worker config's
 * originals) and the generation library call.
 */
package io.softstream.worker.generation;
