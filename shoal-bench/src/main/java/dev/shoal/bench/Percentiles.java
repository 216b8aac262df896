package dev.shoal.bench;

import java.util.Arrays;

/** Nearest-rank percentiles of a sample: the one percentile rule of every benchmark. */
public record Percentiles(double p50, double p99, int count) {
  public static Percentiles of(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return new Percentiles(nearestRank(v, 0.50), nearestRank(v, 0.99), v.length);
  }

  /** The nearest-rank {@code q}-quantile of sorted values (q in [0, 1]); NaN when there are none. */
  public static double nearestRank(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }
}
