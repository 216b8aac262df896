package dev.shoal.model.family;

import java.util.List;

/**
 * The variant-parallel merge ({@link VariantFamilyManifest#FUSION_WEIGHTED_TOPK_SUM}), after the
 * VP paper's aggregator: each answering variant's top-k probabilities are scattered into a
 * class vector, scaled by the variant's fusion weight and summed. The prediction is the arg-max;
 * any non-empty subset of variants gives a full-class answer.
 */
public final class TopKFusion {

  private TopKFusion() {}

  /** One variant's top-k for one input. */
  public record Answer(double fusionWeight, long[] classes, float[] scores) {
    public Answer {
      if (classes.length != scores.length) {
        throw new IllegalArgumentException(classes.length + " class ids but " + scores.length + " scores");
      }
    }
  }

  /** The fused class scores (length {@code numClasses}); all zero when {@code answers} is empty. */
  public static double[] fuse(int numClasses, List<Answer> answers) {
    double[] fused = new double[numClasses];
    for (Answer a : answers) {
      for (int j = 0; j < a.classes().length; j++) {
        long c = a.classes()[j];
        if (c < 0 || c >= numClasses) {
          throw new IllegalArgumentException("class id " + c + " outside [0, " + numClasses + ")");
        }
        fused[(int) c] += a.fusionWeight() * a.scores()[j];
      }
    }
    return fused;
  }

  /** The arg-max of the fused scores (lowest class id on ties). */
  public static int predict(int numClasses, List<Answer> answers) {
    double[] fused = fuse(numClasses, answers);
    int best = 0;
    for (int c = 1; c < numClasses; c++) {
      if (fused[c] > fused[best]) {
        best = c;
      }
    }
    return best;
  }
}
