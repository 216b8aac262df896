package dev.shoal.train.train;

import dev.shoal.train.data.Augmentation;

/**
 * One training recipe: SGD with (heavy-ball) momentum, a cosine learning-rate schedule over all
 * steps (after a short linear warm-up), weight decay, label smoothing, augmentation, a fixed seed.
 */
public record TrainConfig(
    int epochs,
    int batchSize,
    float learningRate,
    float momentum,
    float weightDecay,
    float labelSmoothing,
    Augmentation augmentation,
    long seed) {

  public TrainConfig {
    if (epochs < 1) {
      throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    if (!(learningRate > 0)) {
      throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
    }
    if (labelSmoothing < 0 || labelSmoothing >= 1) {
      throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
    }
  }

  /** The recipe used for every model here unless told otherwise. */
  public static TrainConfig standard(int epochs, long seed) {
    return new TrainConfig(epochs, 128, 0.1f, 0.9f, 5e-5f, 0.1f, Augmentation.STANDARD, seed);
  }

  public TrainConfig withLearningRate(float newLearningRate) {
    return new TrainConfig(
        epochs, batchSize, newLearningRate, momentum, weightDecay, labelSmoothing, augmentation, seed);
  }

  public TrainConfig withBatchSize(int newBatchSize) {
    return new TrainConfig(
        epochs, newBatchSize, learningRate, momentum, weightDecay, labelSmoothing, augmentation, seed);
  }
}
