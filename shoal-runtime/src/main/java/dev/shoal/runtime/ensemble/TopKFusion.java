package dev.shoal.runtime.ensemble;

import java.util.List;

/**
 * The variant-parallel fusion rule of the VP paper's code: each variant's top-k (class id, score)
 * pairs are scattered into a class vector (zero elsewhere), scaled by the variant's fusion weight,
 * summed over the variants that answered, and passed through a softmax. Any non-empty subset of
 * the variants gives a full-class prediction.
 */
public final class TopKFusion {

  /** One variant's answer for one input: k class ids and their scores, and its fusion weight. */
  public record WeightedTopK(long[] classIds, float[] scores, double weight) {
    public WeightedTopK {
      if (classIds.length != scores.length) {
        throw new IllegalArgumentException(
            "top-k has " + classIds.length + " class ids but " + scores.length + " scores");
      }
    }
  }

  private TopKFusion() {}

  /** The fused class probabilities for one input. */
  public static float[] fuse(int numClasses, List<WeightedTopK> answers) {
    if (answers.isEmpty()) {
      throw new IllegalArgumentException("nothing to fuse: no variant answered");
    }
    double[] sum = new double[numClasses];
    for (WeightedTopK a : answers) {
      for (int j = 0; j < a.classIds().length; j++) {
        long c = a.classIds()[j];
        if (c < 0 || c >= numClasses) {
          throw new IllegalArgumentException("class id " + c + " outside [0, " + numClasses + ")");
        }
        sum[(int) c] += a.weight() * a.scores()[j];
      }
    }
    return softmax(sum);
  }

  static float[] softmax(double[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : logits) {
      max = Math.max(max, v);
    }
    double total = 0;
    double[] e = new double[logits.length];
    for (int i = 0; i < logits.length; i++) {
      e[i] = Math.exp(logits[i] - max);
      total += e[i];
    }
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = (float) (e[i] / total);
    }
    return out;
  }

  /** Index of the largest value (the first on ties). */
  public static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }
}
