package dev.shoal.plan.graph;

/** A stage's self-contained ONNX model: its file (relative to the plan file) and SHA-256 (hex). */
public record StageModel(String file, String sha256) {}
