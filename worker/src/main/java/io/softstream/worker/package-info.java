/** Softstream worker module. */
package io.softstream.worker;
