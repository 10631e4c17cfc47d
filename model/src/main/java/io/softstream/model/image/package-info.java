/**
 * The one way images become model input and model output becomes images ({@link
 * io.softstream.model.image.ImageTranslator}), shared by the trainer, the workers, the benchmarks
 * and the launcher, so that a model sees in service exactly the pixels it was trained on.
 */
package io.softstream.model.image;
