package dev.shoal.bench.variants;

/**
 * A model's accuracy against the base's on the same test images, paired image by image: the
 * difference in points and the half-width of its 95% interval (normal approximation for paired
 * proportions). Only the images that exactly one of the two gets right move the difference, so the
 * interval is much tighter than two separate accuracies' intervals would suggest.
 */
public record PairedDifference(int onlyModelRight, int onlyBaseRight, int images) {

  public PairedDifference {
    if (images <= 0 || onlyModelRight < 0 || onlyBaseRight < 0 || onlyModelRight + onlyBaseRight > images) {
      throw new IllegalArgumentException(
          "bad paired counts: " + onlyModelRight + " and " + onlyBaseRight + " of " + images);
    }
  }

  /** Per image, whether the model and the base got it right; both cover the same images. */
  public static PairedDifference of(boolean[] modelCorrect, boolean[] baseCorrect) {
    if (modelCorrect.length != baseCorrect.length) {
      throw new IllegalArgumentException(
          modelCorrect.length + " model answers against " + baseCorrect.length + " of the base");
    }
    int onlyModel = 0;
    int onlyBase = 0;
    for (int i = 0; i < modelCorrect.length; i++) {
      if (modelCorrect[i] && !baseCorrect[i]) {
        onlyModel++;
      } else if (baseCorrect[i] && !modelCorrect[i]) {
        onlyBase++;
      }
    }
    return new PairedDifference(onlyModel, onlyBase, modelCorrect.length);
  }

  /** Model accuracy minus the base's, in percentage points. */
  public double points() {
    return 100.0 * (onlyModelRight - onlyBaseRight) / images;
  }

  /** Half-width of the 95% interval of {@link #points()}. */
  public double ci95Points() {
    double n = images;
    double d = (onlyModelRight - onlyBaseRight) / n;
    double variance = ((onlyModelRight + onlyBaseRight) / n - d * d) / n;
    return 100.0 * 1.96 * Math.sqrt(Math.max(variance, 0));
  }
}
