/**
 * Class-conditional generation over 1-D latent tokens: a DiT/SiT-style flow-matching transformer
 * ({@link io.softstream.model.generator.Generator}), its samplers, its model directory and a runtime
 * that works on plain arrays.
 */
package io.softstream.model.generator;
