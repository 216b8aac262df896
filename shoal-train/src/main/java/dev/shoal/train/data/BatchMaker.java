package dev.shoal.train.data;

import java.util.Random;

/**
 * Turns {@link LabelledImages} into normalised, optionally augmented float batches in NCHW order
 * ({@code [n, 1, rows, cols]}). All randomness comes from the seeded {@link Random} passed in, so a
 * run is reproducible.
 */
public final class BatchMaker {

  private final LabelledImages data;
  private final Normalisation normalisation;
  private final float[] lookup = new float[256];

  public BatchMaker(LabelledImages data, Normalisation normalisation) {
    this.data = data;
    this.normalisation = normalisation;
    for (int u = 0; u < 256; u++) {
      lookup[u] = normalisation.apply(u);
    }
  }

  public LabelledImages data() {
    return data;
  }

  public Normalisation normalisation() {
    return normalisation;
  }

  /** A random permutation of all indices. */
  public int[] shuffledOrder(Random random) {
    int[] order = new int[data.count()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** Pixels of images {@code order[from..to)}, augmented with {@code random} (unused for NONE). */
  public float[] images(int[] order, int from, int to, Augmentation augmentation, Random random) {
    return images(order, from, to, augmentation, random, 1);
  }

  /**
   * {@code views} independently augmented copies of each of images {@code order[from..to)}, as the
   * channels of an {@code [n, views, rows, cols]} batch. One view draws from {@code random} exactly
   * as {@link #images(int[], int, int, Augmentation, Random)} does.
   */
  public float[] images(int[] order, int from, int to, Augmentation augmentation, Random random, int views) {
    if (views < 1) {
      throw new IllegalArgumentException("views must be >= 1, got " + views);
    }
    int rows = data.rows();
    int cols = data.cols();
    int plane = rows * cols;
    float[] out = new float[(to - from) * views * plane];
    float background = normalisation.background();
    byte[] px = data.pixels();
    int pad = augmentation.padding();
    for (int b = 0; b < to - from; b++) {
      int src = order[b + from] * plane;
      for (int v = 0; v < views; v++) {
        int dst = (b * views + v) * plane;
        int dy = pad == 0 ? 0 : random.nextInt(2 * pad + 1) - pad;
        int dx = pad == 0 ? 0 : random.nextInt(2 * pad + 1) - pad;
        boolean flip = augmentation.horizontalFlip() && random.nextBoolean();
        for (int y = 0; y < rows; y++) {
          int sy = y + dy;
          for (int x = 0; x < cols; x++) {
            int sx = (flip ? cols - 1 - x : x) + dx;
            out[dst + y * cols + x] =
                sy < 0 || sy >= rows || sx < 0 || sx >= cols
                    ? background
                    : lookup[px[src + sy * cols + sx] & 0xff];
          }
        }
      }
    }
    return out;
  }

  /** Labels of images {@code order[from..to)}. */
  public long[] labels(int[] order, int from, int to) {
    long[] out = new long[to - from];
    for (int b = 0; b < out.length; b++) {
      out[b] = data.label(order[b + from]);
    }
    return out;
  }

  /** The identity order {@code 0..count-1}, for evaluation. */
  public int[] sequentialOrder() {
    int[] order = new int[data.count()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    return order;
  }
}
