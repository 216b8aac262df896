package dev.shoal.train.data;

/**
 * Pixel normalisation {@code x = (u / 255 - mean) / std} for unsigned-byte pixels {@code u}. Models
 * trained here expect their input normalised this way; the exported manifests record the figures.
 */
public record Normalisation(float mean, float std) {

  /** Fashion-MNIST training-set statistics (mean 0.2860, std 0.3530 of pixels scaled to [0,1]). */
  public static final Normalisation FASHION_MNIST = new Normalisation(0.2860f, 0.3530f);

  public Normalisation {
    if (!(std > 0)) {
      throw new IllegalArgumentException("normalisation std must be positive, got " + std);
    }
  }

  public float apply(int unsignedPixel) {
    return (unsignedPixel / 255f - mean) / std;
  }

  /** The normalised value of a black (zero) pixel: what padding fills with. */
  public float background() {
    return apply(0);
  }

  /** Human-readable formula, as written into manifests and READMEs. */
  public String formula() {
    return "x = (pixel / 255 - " + mean + ") / " + std;
  }
}
