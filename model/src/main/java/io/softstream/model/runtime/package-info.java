/**
 * Opening a tokenizer on an engine, in one factory ({@link
 * io.softstream.model.runtime.TokenizerRuntimes}, like DJL's {@code Criteria}): DJL blocks on
 * PyTorch, the ONNX export on ONNX Runtime, TensorRT where a GPU is present. Callers see a
 * plain-array contract ({@link io.softstream.model.runtime.TokenizerRuntime}).
 */
package io.softstream.model.runtime;
