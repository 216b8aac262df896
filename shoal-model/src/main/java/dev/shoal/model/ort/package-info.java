/**
 * The one way Shoal runs an ONNX model: an ONNX Runtime session over {@link
 * dev.shoal.model.TensorData}.
 */
package dev.shoal.model.ort;
