package dev.shoal.train.variants;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.TopKFusion;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** One variant's top-k answers for a whole data set: {@code count x k} class ids and scores. */
public record TopKOutputs(int count, int k, long[] classes, float[] scores) {

  /** From a top-k model's "classes" (int64) and "scores" (float32) outputs. */
  public static TopKOutputs of(TensorData classes, TensorData scores) {
    if (classes.dtype() != DType.INT64 || scores.dtype() != DType.FLOAT) {
      throw new IllegalArgumentException(
          "top-k outputs must be int64 classes and float32 scores, got " + classes.dtype() + " and " + scores.dtype());
    }
    if (classes.shape().length != 2 || !java.util.Arrays.equals(classes.shape(), scores.shape())) {
      throw new IllegalArgumentException(
          "top-k outputs must both be [N, k], got " + java.util.Arrays.toString(classes.shape()) + " and "
              + java.util.Arrays.toString(scores.shape()));
    }
    long[] ids = new long[(int) classes.elementCount()];
    ByteBuffer.wrap(classes.data()).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(ids);
    return new TopKOutputs((int) classes.shape()[0], (int) classes.shape()[1], ids, scores.floats());
  }

  /** The answer for input {@code i}, weighted for fusion. */
  public TopKFusion.Answer answer(int i, double fusionWeight) {
    long[] c = new long[k];
    float[] s = new float[k];
    System.arraycopy(classes, i * k, c, 0, k);
    System.arraycopy(scores, i * k, s, 0, k);
    return new TopKFusion.Answer(fusionWeight, c, s);
  }
}
