package dev.shoal.bench.pipeline;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.util.Arrays;
import java.util.Map;

/**
 * Whether a distributed answer is the single-machine model's: the same tensors, and float values
 * within 1e-4 of the largest magnitude (cutting a model can change ONNX Runtime's operator fusion,
 * hence rounding); other types exactly equal.
 */
public final class ModelAgreement {
  static final float RELATIVE_TOLERANCE = 1e-4f;

  private ModelAgreement() {}

  public static boolean agrees(Map<String, TensorData> got, Map<String, TensorData> want) {
    if (!got.keySet().equals(want.keySet())) {
      return false;
    }
    for (String name : want.keySet()) {
      if (!agrees(got.get(name), want.get(name))) {
        return false;
      }
    }
    return true;
  }

  public static boolean agrees(TensorData got, TensorData want) {
    if (got.dtype() != want.dtype() || !Arrays.equals(got.shape(), want.shape())) {
      return false;
    }
    if (want.dtype() != DType.FLOAT) {
      return got.equals(want);
    }
    float scale = 0;
    for (float v : want.floats()) {
      scale = Math.max(scale, Math.abs(v));
    }
    return maxAbsDifference(got, want) <= RELATIVE_TOLERANCE * Math.max(1f, scale);
  }

  /** The largest |got - want| over two float tensors of the same shape (NaN counts as infinite). */
  public static double maxAbsDifference(TensorData got, TensorData want) {
    float[] x = got.floats();
    float[] y = want.floats();
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      double d = Math.abs((double) x[i] - y[i]);
      max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
    }
    return max;
  }
}
