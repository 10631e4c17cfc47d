/**
 * Class-conditional generation over 1-D latent tokens: a DiT/SiT-style flow-matching transformer
 * ({@link io.softstream.model.generator.Generator}), its samplers, its model directory and a
 * runtime that works on plain arrays. The same generator with {@code pos_embed "2d"} over {@link
 * io.softstream.model.generator.PixelPatches} is the 2-D pixel-patch baseline it is compared with.
 */
package io.softstream.model.generator;
