/**
 * Per-node cost of a model for one sample: MACs and bytes from the exact shapes, measured node
 * times from ONNX Runtime's profiler; the profile the planner uses.
 */
package dev.shoal.model.cost;
