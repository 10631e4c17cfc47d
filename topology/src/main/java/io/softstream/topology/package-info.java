/** Softstream topology module. */
package io.softstream.topology;
