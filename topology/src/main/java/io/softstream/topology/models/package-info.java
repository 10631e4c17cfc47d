/**
 * Model versions on Kafka: publishing an artifact and its announcement ({@link
 * io.softstream.topology.models.ModelRegistry}), the model-version table ({@link
 * io.softstream.topology.models.ModelCatalog}) and the promotion gate ({@link
 * io.softstream.topology.models.PromotionGate}).
 */
package io.softstream.topology.models;
