/** Softstream cli module. */
package io.softstream.cli;
