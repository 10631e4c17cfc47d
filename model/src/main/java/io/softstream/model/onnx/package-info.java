/**
 * ONNX export of the tokenizer: {@link io.softstream.model.onnx.OnnxExport} writes {@code
 * encoder.onnx} and {@code decoder.onnx} (opset 17, IR 8, dynamic batch, TensorRT-compatible ops
 * only) from the DJL blocks of a model directory, with a small hand-written protobuf encoder
 * ({@code onnx.proto} field numbers) instead of generated classes.
 */
package io.softstream.model.onnx;
