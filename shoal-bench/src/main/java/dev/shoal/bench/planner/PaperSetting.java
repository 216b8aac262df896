package dev.shoal.bench.planner;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.cluster.InstanceBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The planner paper's own setting (from the authors' public code): devices placed uniformly at
 * random in a 150 x 150 square, a complete graph whose link between devices at distance d carries
 * log2(1 + 283230 / d^2) Mbit/s, one homogeneous memory cap, compute time zero (transfers
 * dominate), activations compressed 1.44x, no latency term and no input transfer (their
 * bottlenecks count the cuts inside the model only).
 */
final class PaperSetting {

  static final double SQUARE = 150.0;
  static final double COMPRESSION = 1.44;

  private PaperSetting() {}

  /** Link bandwidth in bytes/s between two devices {@code distance} apart. */
  static double bandwidth(double distance) {
    double mbit = Math.log(1 + 283230 / (distance * distance)) / Math.log(2);
    return mbit * 1e6 / 8;
  }

  /** One placement of {@code devices} devices, each with {@code memoryBytes}; the seed fixes the positions. */
  static Instance instance(ModelProfile profile, int devices, long memoryBytes, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] x = new double[devices];
    double[] y = new double[devices];
    for (int d = 0; d < devices; d++) {
      x[d] = random.nextDouble() * SQUARE;
      y[d] = random.nextDouble() * SQUARE;
    }
    double[][] bandwidth = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = 0; b < devices; b++) {
        if (a != b) {
          // two devices on the same spot would get an infinite link; 0.01 apart is still ~31 Mbit/s
          bandwidth[a][b] = bandwidth(Math.max(0.01, Math.hypot(x[a] - x[b], y[a] - y[b])));
        }
      }
    }
    List<DeviceSpec> specs = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      specs.add(new DeviceSpec("n" + d, memoryBytes));
    }
    double[][] time = new double[profile.nodes().size()][devices];
    return InstanceBuilder.of(
        profile, specs, time, bandwidth, new double[devices][devices], null, COMPRESSION);
  }

  /**
   * The paper's "optimal": the largest transfer over the best link, made a true lower bound by
   * taking the partition (any number of parts up to the device count, each within the memory cap)
   * whose largest cut is smallest. Zero when the whole model fits one device.
   */
  static double lowerBound(Instance instance) {
    double best = 0;
    for (double[] row : instance.bandwidth()) {
      for (double b : row) {
        best = Math.max(best, b);
      }
    }
    return minMaxCutBytes(instance) / best;
  }

  /** The least possible largest cut (bytes) of a memory-feasible split into at most #devices parts. */
  static long minMaxCutBytes(Instance instance) {
    List<Layer> layers = instance.layers();
    int n = layers.size();
    long cap = instance.devices().get(0).memoryBytes();
    int maxParts = instance.devices().size();
    // parts[j] = fewest parts covering layers 0..j (the last ending at j) with every cut <= limit;
    // the answer is the smallest limit among the cut sizes for which parts[n-1] <= maxParts
    long[] limits = layers.stream().mapToLong(Layer::cutBytes).sorted().distinct().toArray();
    if (fits(layers, cap, maxParts, -1)) {
      return 0;
    }
    int lo = 0;
    int hi = limits.length - 1;
    if (!fits(layers, cap, maxParts, limits[hi])) {
      throw new IllegalArgumentException("no memory-feasible split into at most " + maxParts + " parts");
    }
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (fits(layers, cap, maxParts, limits[mid])) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return limits[lo];
  }

  /** Whether layers split into at most maxParts parts within cap using only cuts of at most limit bytes (limit < 0: no cut). */
  private static boolean fits(List<Layer> layers, long cap, int maxParts, long limit) {
    int n = layers.size();
    int[] parts = new int[n];
    for (int j = 0; j < n; j++) {
      parts[j] = Integer.MAX_VALUE;
      long params = 0;
      long work = 0;
      for (int s = j; s >= 0; s--) {
        params += layers.get(s).paramBytes();
        work = Math.max(work, layers.get(s).workBytes());
        if (params + work > cap) {
          break;
        }
        if (s == 0) {
          parts[j] = 1;
        } else if (limit >= 0 && layers.get(s - 1).cutBytes() <= limit && parts[s - 1] != Integer.MAX_VALUE) {
          parts[j] = Math.min(parts[j], parts[s - 1] + 1);
        }
      }
    }
    return parts[n - 1] <= maxParts;
  }
}
