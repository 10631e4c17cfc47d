/**
 * Schema registry clients: the {@link io.softstream.schemas.registry.SchemaRegistryClient}
 * contract, its REST, in-memory ({@code mock://}) and caching implementations, and the factory
 * {@link io.softstream.schemas.registry.SchemaRegistryClients}.
 */
package io.softstream.schemas.registry;
