/**
 * Training and evaluation of the class-conditional token generator: {@link
 * io.softstream.trainer.generator.GeneratorTrainer} (Fashion-MNIST encoded by a tokenizer, flow
 * matching) and {@link io.softstream.trainer.generator.GeneratorEval} (class consistency and
 * Fréchet distance in the teacher classifier's feature space).
 */
package io.softstream.trainer.generator;
