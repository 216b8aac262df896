/**
 * The graph IR of an ONNX model: nodes in one fixed topological order, every tensor's type and
 * shape (from ONNX Runtime), and seeded sample inputs.
 */
package dev.shoal.model.graph;
