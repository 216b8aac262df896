package dev.shoal.model;

import java.util.Arrays;

/** A declared input or output: name, element type, and shape with -1 for a dynamic dimension. */
public record TensorSpec(String name, DType dtype, long[] shape) {

  /** Whether {@code t} has this spec's type and a shape that matches it (-1 matches any size). */
  public boolean accepts(TensorData t) {
    if (t.dtype() != dtype || t.shape().length != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] >= 0 && shape[i] != t.shape()[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorSpec s && name.equals(s.name) && dtype == s.dtype
        && Arrays.equals(shape, s.shape);
  }

  @Override
  public int hashCode() {
    return 31 * name.hashCode() + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + ":" + dtype + Arrays.toString(shape);
  }
}
