/**
 * Reading and writing ONNX models and NumPy {@code .npy} tensors.
 */
package dev.shoal.model.io;
