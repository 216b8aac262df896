package dev.shoal.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A named dense tensor: element type, shape and raw little-endian bytes (row-major). The one
 * tensor value type shared by file I/O, the runtime's wire frames and the inference API.
 */
public record TensorData(String name, DType dtype, long[] shape, byte[] data) {

  public TensorData {
    long expected = elementCount(shape) * dtype.byteSize();
    if (expected != data.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype + " needs "
              + expected + " bytes, got " + data.length);
    }
  }

  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public static TensorData ofFloats(String name, long[] shape, float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return new TensorData(name, DType.FLOAT, shape.clone(), buf.array());
  }

  public long elementCount() {
    return elementCount(shape);
  }

  /** The values of a FLOAT tensor. */
  public float[] floats() {
    if (dtype != DType.FLOAT) {
      throw new IllegalStateException("tensor '" + name + "' is " + dtype + ", not FLOAT");
    }
    FloatBuffer fb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] out = new float[fb.remaining()];
    fb.get(out);
    return out;
  }

  public TensorData withName(String newName) {
    return new TensorData(newName, dtype, shape, data);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorData t && name.equals(t.name) && dtype == t.dtype
        && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * name.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "TensorData[" + name + " " + dtype + " " + Arrays.toString(shape) + "]";
  }
}
