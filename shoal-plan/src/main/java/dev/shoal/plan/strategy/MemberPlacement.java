package dev.shoal.plan.strategy;

import dev.shoal.plan.InfeasibleInstanceException;
import java.util.Arrays;

/**
 * Places ensemble members on devices by the cost model: members that share a device run one after
 * another for each request, so a device's time per request is the sum of its members' times, and
 * the ensemble answers when its slowest device is done. The placement minimises that slowest
 * device's time, with every device's members fitting its memory. Exact (depth-first branch and
 * bound) while devices^members stays within {@link #EXACT_LIMIT}; beyond, longest member first on
 * the device where it finishes earliest.
 */
public final class MemberPlacement {

  /** Largest search space searched exactly. */
  public static final double EXACT_LIMIT = 5e6;

  /** Where each member runs ({@code device[m]}) and the slowest device's seconds per request. */
  public record Placement(int[] device, double seconds, boolean exact) {}

  private MemberPlacement() {}

  /**
   * @param seconds seconds[m][d]: member m's time per request on device d (infinite: cannot run there)
   * @param memory bytes member m needs
   * @param capacity bytes device d has
   * @throws InfeasibleInstanceException when the members cannot all be placed
   */
  public static Placement place(double[][] seconds, long[] memory, long[] capacity) {
    int members = seconds.length;
    int devices = capacity.length;
    if (devices == 0) {
      throw new InfeasibleInstanceException("no devices to place " + members + " members on");
    }
    Integer[] order = new Integer[members];
    for (int m = 0; m < members; m++) {
      order[m] = m;
    }
    // longest members first: the bound bites early
    Arrays.sort(order, (a, b) -> Double.compare(min(seconds[b]), min(seconds[a])));
    Search s = new Search(seconds, memory, capacity, order);
    boolean exact = Math.pow(devices, members) <= EXACT_LIMIT;
    if (exact) {
      s.dfs(0);
    } else {
      s.greedy();
    }
    if (s.best == null) {
      throw new InfeasibleInstanceException(members + " members do not fit the memory of " + devices + " devices");
    }
    return new Placement(s.best, s.bestTime, exact);
  }

  private static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.POSITIVE_INFINITY);
  }

  private static final class Search {
    final double[][] seconds;
    final long[] memory;
    final long[] capacity;
    final Integer[] order;
    final double[] load;
    final long[] used;
    final int[] assigned;
    int[] best;
    double bestTime = Double.POSITIVE_INFINITY;

    Search(double[][] seconds, long[] memory, long[] capacity, Integer[] order) {
      this.seconds = seconds;
      this.memory = memory;
      this.capacity = capacity;
      this.order = order;
      this.load = new double[capacity.length];
      this.used = new long[capacity.length];
      this.assigned = new int[seconds.length];
    }

    void dfs(int k) {
      double now = Arrays.stream(load).max().orElse(0);
      if (now >= bestTime) {
        return;
      }
      if (k == order.length) {
        best = assigned.clone();
        bestTime = now;
        return;
      }
      int m = order[k];
      for (int d = 0; d < capacity.length; d++) {
        if (used[d] + memory[m] > capacity[d] || Double.isInfinite(seconds[m][d])) {
          continue;
        }
        load[d] += seconds[m][d];
        used[d] += memory[m];
        assigned[m] = d;
        dfs(k + 1);
        load[d] -= seconds[m][d];
        used[d] -= memory[m];
      }
    }

    void greedy() {
      for (int m : order) {
        int chosen = -1;
        for (int d = 0; d < capacity.length; d++) {
          if (used[d] + memory[m] <= capacity[d] && Double.isFinite(seconds[m][d])
              && (chosen < 0 || load[d] + seconds[m][d] < load[chosen] + seconds[m][chosen])) {
            chosen = d;
          }
        }
        if (chosen < 0) {
          return;
        }
        load[chosen] += seconds[m][chosen];
        used[chosen] += memory[m];
        assigned[m] = chosen;
      }
      best = assigned.clone();
      bestTime = Arrays.stream(load).max().orElse(0);
    }
  }
}
