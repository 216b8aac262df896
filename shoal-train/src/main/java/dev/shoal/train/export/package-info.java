/**
 * Trained networks to ONNX models, and evaluating exported models with ONNX Runtime.
 */
package dev.shoal.train.export;
