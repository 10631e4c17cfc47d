/**
 * The schema registry's state and compatibility rules ({@link
 * io.softstream.schemas.registry.core.SchemaRegistryCore}), shared by the in-memory {@code mock://}
 * client and the registry server (module {@code registry}) so both give the same ids, rules and
 * error codes.
 */
package io.softstream.schemas.registry.core;
