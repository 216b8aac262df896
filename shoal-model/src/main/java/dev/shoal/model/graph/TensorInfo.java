package dev.shoal.model.graph;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.util.Arrays;

/**
 * A tensor of a {@link ModelGraph}: element type, shape with -1 for dimensions that follow the
 * batch, and its concrete shape for one sample (batch 1), from which its per-sample byte size
 * comes.
 *
 * @param kind where it comes from
 * @param graphOutput whether it is one of the model's outputs
 */
public record TensorInfo(
    String name, DType dtype, long[] shape, long[] sampleShape, Kind kind, boolean graphOutput) {

  /** Where a tensor comes from. */
  public enum Kind {
    /** A graph input the caller feeds. */
    INPUT,
    /** A weight stored in the model. */
    INITIALIZER,
    /** Produced by a node. */
    ACTIVATION
  }

  /** Bytes of this tensor for one sample (batch dimensions taken as 1). */
  public long sampleBytes() {
    return TensorData.elementCount(sampleShape) * dtype.byteSize();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
        && Arrays.equals(shape, t.shape) && Arrays.equals(sampleShape, t.sampleShape)
        && kind == t.kind && graphOutput == t.graphOutput;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + ":" + dtype + Arrays.toString(shape);
  }
}
