package dev.shoal.plan.solve;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's greedy joint partitioning-placement baseline. Partition: the split with the least
 * total cut bytes whose parts each fit the smallest device memory (the paper's homogeneous cap;
 * the largest memory when the smallest cannot hold some layer), at most one part per device.
 * Placement: the first part on the source (or, without a source, on an end of the fastest link),
 * each next part on the unused neighbour with the highest bandwidth from the previous device
 * that has room for it. Compute time plays no part, as in the paper.
 */
public final class GreedySolver implements PipelineSolver {

  @Override
  public String name() {
    return "greedy";
  }

  @Override
  public PipelinePlan solve(Instance instance) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    List<int[]> parts = partition(cost, smallestUsefulMemory(cost));
    if (parts == null) {
      parts = partition(cost, largestMemory(cost));
    }
    if (parts == null) {
      throw new InfeasibleInstanceException(
          "greedy: the model cannot be split into at most " + cost.deviceCount() + " parts that fit memory");
    }
    List<StageAssignment> stages = place(cost, parts);
    return cost.plan(stages, (System.nanoTime() - start) / 1_000_000);
  }

  private static long largestMemory(PipelineCost cost) {
    return cost.instance().devices().stream().mapToLong(d -> d.memoryBytes()).max().orElse(0);
  }

  /** The smallest device memory that still holds every single layer. */
  private static long smallestUsefulMemory(PipelineCost cost) {
    long needed = 0;
    for (int l = 0; l < cost.layerCount(); l++) {
      needed = Math.max(needed, cost.stageMemory(l, l));
    }
    long smallest = Long.MAX_VALUE;
    for (var device : cost.instance().devices()) {
      if (device.memoryBytes() >= needed) {
        smallest = Math.min(smallest, device.memoryBytes());
      }
    }
    return smallest == Long.MAX_VALUE ? needed : smallest;
  }

  /** Least-total-cut split into at most #devices parts fitting {@code cap}, fewest parts on ties; null if none. */
  private static List<int[]> partition(PipelineCost cost, long cap) {
    int layers = cost.layerCount();
    int maxParts = cost.deviceCount();
    long inf = Long.MAX_VALUE;
    // best[k][j]: least cut bytes to cover layers 0..j with k + 1 parts, the last ending at j
    long[][] best = new long[maxParts][layers];
    int[][] from = new int[maxParts][layers];
    for (long[] row : best) {
      java.util.Arrays.fill(row, inf);
    }
    for (int j = 0; j < layers && cost.stageMemory(0, j) <= cap; j++) {
      best[0][j] = 0;
    }
    for (int k = 1; k < maxParts; k++) {
      for (int i = 1; i < layers; i++) {
        long before = best[k - 1][i - 1];
        if (before == inf) {
          continue;
        }
        long withCut = before + cost.instance().layers().get(i - 1).cutBytes();
        for (int j = i; j < layers && cost.stageMemory(i, j) <= cap; j++) {
          if (withCut < best[k][j]) {
            best[k][j] = withCut;
            from[k][j] = i;
          }
        }
      }
    }
    int bestK = -1;
    for (int k = 0; k < maxParts; k++) {
      if (best[k][layers - 1] != inf && (bestK < 0 || best[k][layers - 1] < best[bestK][layers - 1])) {
        bestK = k;
      }
    }
    if (bestK < 0) {
      return null;
    }
    List<int[]> parts = new ArrayList<>();
    int end = layers - 1;
    for (int k = bestK; k >= 0; k--) {
      int first = k == 0 ? 0 : from[k][end];
      parts.add(0, new int[] {first, end});
      end = first - 1;
    }
    return parts;
  }

  private static List<StageAssignment> place(PipelineCost cost, List<int[]> parts) {
    Instance instance = cost.instance();
    int devices = cost.deviceCount();
    boolean[] used = new boolean[devices];
    List<StageAssignment> stages = new ArrayList<>();
    Integer source = instance.source();
    int previous = -1;
    for (int p = 0; p < parts.size(); p++) {
      int[] part = parts.get(p);
      long need = cost.stageMemory(part[0], part[1]);
      int chosen = -1;
      if (p == 0 && source != null && instance.devices().get(source).memoryBytes() >= need) {
        chosen = source;
      } else {
        int from = p == 0 ? (source == null ? -1 : source) : previous;
        double bestBandwidth = -1;
        for (int d = 0; d < devices; d++) {
          if (used[d] || d == from || instance.devices().get(d).memoryBytes() < need) {
            continue;
          }
          double bandwidth = from < 0 ? bestLink(instance, d) : instance.bandwidth()[from][d];
          if (bandwidth > 0 && bandwidth > bestBandwidth) {
            bestBandwidth = bandwidth;
            chosen = d;
          }
        }
      }
      if (chosen < 0) {
        throw new InfeasibleInstanceException(
            "greedy: no unused device with a link from the previous stage has room for part " + p
                + " (layers " + part[0] + ".." + part[1] + ", " + need + " B)");
      }
      used[chosen] = true;
      stages.add(new StageAssignment(chosen, part[0], part[1]));
      previous = chosen;
    }
    return stages;
  }

  private static double bestLink(Instance instance, int device) {
    double best = 0;
    for (double bandwidth : instance.bandwidth()[device]) {
      best = Math.max(best, bandwidth);
    }
    return best;
  }
}
