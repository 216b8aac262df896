package dev.shoal.runtime.serving;

import dev.shoal.model.DType;

/** A declared input or output: name, type, and shape with -1 for a dynamic dimension. */
public record TensorSpec(String name, DType dtype, long[] shape) {}
