/**
 * SoftVQ-VAE tokenizer blocks ({@link io.softstream.model.TokenEncoder}, {@link
 * io.softstream.model.Quantizer}, {@link io.softstream.model.TokenDecoder}), the alignment/judge
 * {@link io.softstream.model.TeacherClassifier}, and the versioned model directory ({@link
 * io.softstream.model.ModelDir}). Pure DJL maths: no I/O besides the model directory, no Kafka. See
 * model/README.md for layouts and parameter names.
 */
package io.softstream.model;
