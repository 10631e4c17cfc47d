/** Softstream schemas module. */
package io.softstream.schemas;
