/**
 * The workers' insides, used by no other module (checked by the cli's ModuleBoundariesTest): the
 * exactly-once loop, model hot swap, dead letters and metrics.
 */
package io.softstream.worker.internals;
