/**
 * The embedded default platform for the demo, the CLI and the tests: a real single-node KRaft
 * broker run as a child JVM ({@link io.softstream.embedded.EmbeddedKafkaBroker}) plus the schema
 * registry and every topic of the layout ({@link io.softstream.embedded.EmbeddedPlatform}). Never a
 * dependency of the workers: they only need an address.
 */
package io.softstream.embedded;
