package dev.shoal.train.train;

import dev.shoal.train.data.LabelledImages;

/** Top-1 accuracy of per-class scores. */
public final class Accuracy {

  private Accuracy() {}

  /** Index of the largest of {@code scores[row * classes .. row * classes + classes)}. */
  public static int argmax(float[] scores, int row, int classes) {
    int best = 0;
    int base = row * classes;
    for (int c = 1; c < classes; c++) {
      if (scores[base + c] > scores[base + best]) {
        best = c;
      }
    }
    return best;
  }

  /** Fraction of rows of {@code scores [count x classes]} whose argmax is the true label. */
  public static double of(float[] scores, LabelledImages data) {
    int classes = scores.length / data.count();
    int correct = 0;
    for (int i = 0; i < data.count(); i++) {
      if (argmax(scores, i, classes) == data.label(i)) {
        correct++;
      }
    }
    return (double) correct / data.count();
  }
}
