package dev.shoal.model.family;

import java.util.List;

/**
 * The input every member of a family reads: tensor {@code name}, float32, {@code shape} with -1 for
 * the batch dimension, pixels normalised as {@code x = (pixel / 255 - mean) / std}.
 */
public record ModelInput(String name, List<Long> shape, float mean, float std, String normalisation) {

  public ModelInput {
    shape = List.copyOf(shape);
  }

  /** Normalises one unsigned-byte pixel the way the models expect. */
  public float normalise(int pixel) {
    return (pixel / 255f - mean) / std;
  }
}
