package dev.shoal.bench.pipeline;

import java.util.Arrays;

/** Nearest-rank percentiles of a sample. */
public record Percentiles(double p50, double p99, int count) {
  public static Percentiles of(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return new Percentiles(rank(v, 0.50), rank(v, 0.99), v.length);
  }

  private static double rank(double[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }
}
