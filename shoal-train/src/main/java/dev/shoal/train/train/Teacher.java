package dev.shoal.train.train;

/** A trained classifier whose logits a student learns from (knowledge distillation). */
public interface Teacher extends AutoCloseable {

  /** Logits {@code [count * classes]} for {@code count} normalised images {@code [count, 1, rows, cols]}. */
  float[] logits(float[] images, int count);

  /** Number of classes, the width of each row of {@link #logits}. */
  int classes();

  @Override
  void close();
}
