package dev.shoal.train.data;

/**
 * Training-time augmentation: a random crop of the image padded by {@code padding} pixels on each
 * side (background-filled), and a random horizontal flip with probability 1/2.
 */
public record Augmentation(int padding, boolean horizontalFlip) {

  public static final Augmentation NONE = new Augmentation(0, false);
  /** The usual recipe for 28x28 clothing images: crop from a 2-pixel pad, flip left-right. */
  public static final Augmentation STANDARD = new Augmentation(2, true);

  public Augmentation {
    if (padding < 0) {
      throw new IllegalArgumentException("padding must be >= 0, got " + padding);
    }
  }
}
