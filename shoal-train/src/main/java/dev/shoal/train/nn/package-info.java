/**
 * DJL blocks that also know their inference-time ONNX form and cost: convolution with batch norm,
 * dense, pooling, resize, inverted residuals, several networks trained as one.
 */
package dev.shoal.train.nn;
