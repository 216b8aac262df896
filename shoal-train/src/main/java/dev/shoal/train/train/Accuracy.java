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
    return fraction(correct(scores, data));
  }

  /** Per row of {@code scores [count x classes]}: whether its argmax is the true label. */
  public static boolean[] correct(float[] scores, LabelledImages data) {
    int classes = scores.length / data.count();
    boolean[] correct = new boolean[data.count()];
    for (int i = 0; i < data.count(); i++) {
      correct[i] = argmax(scores, i, classes) == data.label(i);
    }
    return correct;
  }

  /** The fraction of {@code true}s. */
  public static double fraction(boolean[] correct) {
    int n = 0;
    for (boolean c : correct) {
      if (c) {
        n++;
      }
    }
    return (double) n / correct.length;
  }
}
