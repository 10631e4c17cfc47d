/** Softstream trainer module. */
package io.softstream.trainer;
