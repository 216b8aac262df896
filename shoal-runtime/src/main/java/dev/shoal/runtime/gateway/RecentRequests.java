package dev.shoal.runtime.gateway;

import java.util.Arrays;

/**
 * The last few thousand requests of one model (end time, latency, success), for the status page's
 * recent throughput and latency; Prometheus keeps the long-run figures.
 */
final class RecentRequests {

  private static final int CAPACITY = 4096;

  private final long[] endNanos = new long[CAPACITY];
  private final long[] latencyNanos = new long[CAPACITY];
  private final boolean[] ok = new boolean[CAPACITY];
  private long count;

  /** Throughput and latency over the requests that ended within the window. */
  record Summary(int requests, int errors, double perSecond, double p50Ms, double p99Ms) {}

  synchronized void record(long endNanosValue, long latency, boolean success) {
    int i = (int) (count % CAPACITY);
    endNanos[i] = endNanosValue;
    latencyNanos[i] = latency;
    ok[i] = success;
    count++;
  }

  synchronized Summary summary(long nowNanos, long windowNanos) {
    int held = (int) Math.min(count, CAPACITY);
    long[] latencies = new long[held];
    int n = 0;
    int errors = 0;
    for (int k = 0; k < held; k++) {
      if (nowNanos - endNanos[k] <= windowNanos) {
        latencies[n++] = latencyNanos[k];
        if (!ok[k]) {
          errors++;
        }
      }
    }
    if (n == 0) {
      return new Summary(0, 0, 0, Double.NaN, Double.NaN);
    }
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    // When the buffer has wrapped inside the window, the rate is over the span it still holds.
    long span = windowNanos;
    if (count > CAPACITY && n == held) {
      span = nowNanos - Arrays.stream(endNanos).min().orElse(nowNanos - windowNanos);
    }
    double seconds = Math.max(span, 1) / 1e9;
    return new Summary(n, errors, n / seconds, percentile(sorted, 0.50) / 1e6, percentile(sorted, 0.99) / 1e6);
  }

  private static double percentile(long[] sorted, double q) {
    int idx = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
  }
}
