package dev.shoal.plan.solve;

import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The search behind the exact and heuristic solvers. For a bottleneck bound B it asks: is there a
 * chain of stages, each on its own device, with every compute and transfer at most B and every
 * stage within memory? Per device and start layer the longest stage that fits B is precomputed
 * ({@link Probe#reach}); a depth-first search over (used-device set, last device) then carries the
 * <em>set</em> of layer positions where the last stage may end as a bit set, so one search node
 * stands for every split that reaches it. Two prunings keep it small: positions already explored
 * from the same (set, device) are skipped, and positions from which even a chain that may reuse
 * devices needs more stages than devices are left ({@link Probe#minStages}) are dropped. Both are
 * sound, so a search that is not cut short by a node budget is a proof.
 *
 * <p>All figures use {@link PipelineCost}'s arithmetic: a stage's compute is summed left to right
 * from its first layer, transfers come from {@link PipelineCost#transferTime}, so the candidate
 * bottlenecks are exactly the values a plan evaluation can produce.
 */
final class ChainSearch {

  /** Thrown inside a search when its node budget or deadline is spent. */
  static final class BudgetExhausted extends RuntimeException {
    BudgetExhausted() {
      super(null, null, false, false);
    }
  }

  private final PipelineCost cost;
  final int layers;
  final int devices;
  private final double[][] time; // [device][layer]
  private final long[] param;
  private final long[] work;
  private final long[] capacity;
  private final double[][] cut; // [layer][from * devices + to]
  private final double[] input; // [device]
  /** A layer's least time on any device: the weight behind the capacity bound. */
  private final double[] weight;
  /** Sums of {@link #weight} and of parameter bytes over layers {@code j..layers-1}. */
  private final double[] weightFrom;
  private final long[] paramsFrom;

  ChainSearch(PipelineCost cost) {
    this.cost = cost;
    Instance instance = cost.instance();
    layers = cost.layerCount();
    devices = cost.deviceCount();
    if (devices > 64) {
      throw new IllegalArgumentException(
          "the exact solver handles at most 64 devices, got " + devices + " (the heuristic solver takes more)");
    }
    time = new double[devices][layers];
    param = new long[layers];
    work = new long[layers];
    for (int l = 0; l < layers; l++) {
      Layer layer = instance.layers().get(l);
      for (int d = 0; d < devices; d++) {
        time[d][l] = layer.time()[d];
      }
      param[l] = layer.paramBytes();
      work[l] = layer.workBytes();
    }
    capacity = new long[devices];
    input = new double[devices];
    for (int d = 0; d < devices; d++) {
      capacity[d] = instance.devices().get(d).memoryBytes();
      input[d] = cost.inputTransfer(d);
    }
    weight = new double[layers];
    weightFrom = new double[layers + 1];
    paramsFrom = new long[layers + 1];
    for (int l = layers - 1; l >= 0; l--) {
      double least = Double.POSITIVE_INFINITY;
      for (int d = 0; d < devices; d++) {
        least = Math.min(least, time[d][l]);
      }
      weight[l] = least;
      weightFrom[l] = weightFrom[l + 1] + least;
      paramsFrom[l] = paramsFrom[l + 1] + param[l];
    }
    cut = new double[layers][devices * devices];
    for (int l = 0; l < layers; l++) {
      for (int a = 0; a < devices; a++) {
        for (int b = 0; b < devices; b++) {
          cut[l][a * devices + b] = a == b ? Double.POSITIVE_INFINITY : cost.cutTransfer(l, a, b);
        }
      }
    }
  }

  PipelineCost cost() {
    return cost;
  }

  /** Every value a plan's bottleneck can take: stage computes that fit memory, finite transfers; sorted, distinct. */
  double[] candidates() {
    double[] values = new double[1024];
    int n = 0;
    for (int d = 0; d < devices; d++) {
      if (Double.isFinite(input[d])) {
        values = grow(values, n + 1);
        values[n++] = input[d];
      }
      for (int s = 0; s < layers; s++) {
        long params = 0;
        long maxWork = 0;
        double sum = 0.0;
        for (int e = s; e < layers; e++) {
          params += param[e];
          maxWork = Math.max(maxWork, work[e]);
          if (params + maxWork > capacity[d]) {
            break;
          }
          sum += time[d][e];
          values = grow(values, n + 1);
          values[n++] = sum;
        }
      }
    }
    for (int l = 0; l + 1 < layers; l++) {
      for (double t : cut[l]) {
        if (Double.isFinite(t)) {
          values = grow(values, n + 1);
          values[n++] = t;
        }
      }
    }
    return Arrays.stream(values, 0, n).sorted().distinct().toArray();
  }

  private static double[] grow(double[] values, int needed) {
    return needed <= values.length ? values : Arrays.copyOf(values, values.length * 2);
  }

  /** The tables of one bottleneck bound. */
  final class Probe {
    final double bound;
    /** Last layer of the longest stage on device d starting at s within the bound; s - 1 if none. */
    final int[][] reach;
    /** Fewest further stages to finish after a stage on d ends at j, devices reusable; MAX_VALUE if none. */
    final int[][] minStages;
    /** Whether some plan fits the bound when devices may be reused (a necessary condition). */
    final boolean relaxedFeasible;
    /**
     * Capacity bound: the most layer weight (resp. parameter bytes) one stage on d can hold within
     * the bound. Layers after j need weight {@code weightFrom[j+1]}; the unused devices together
     * can hold at most the sum of their capacities, whatever the order.
     */
    final double[] weightCapacity;
    final long[] paramCapacity;

    Probe(double bound) {
      this.bound = bound;
      reach = new int[devices][layers];
      for (int d = 0; d < devices; d++) {
        for (int s = 0; s < layers; s++) {
          long params = 0;
          long maxWork = 0;
          double sum = 0.0;
          int e = s;
          for (; e < layers; e++) {
            params += param[e];
            maxWork = Math.max(maxWork, work[e]);
            sum += time[d][e];
            if (params + maxWork > capacity[d] || sum > bound) {
              break;
            }
          }
          reach[d][s] = e - 1;
        }
      }
      weightCapacity = new double[devices];
      paramCapacity = new long[devices];
      for (int d = 0; d < devices; d++) {
        for (int s = 0; s < layers; s++) {
          double w = 0.0;
          long p = 0;
          for (int e = s; e <= reach[d][s]; e++) {
            w += weight[e];
            p += param[e];
          }
          weightCapacity[d] = Math.max(weightCapacity[d], w);
          paramCapacity[d] = Math.max(paramCapacity[d], p);
        }
      }
      minStages = new int[devices][layers];
      int[] bestFrom = new int[devices]; // min over ends of a stage on d starting at j + 1
      for (int d = 0; d < devices; d++) {
        minStages[d][layers - 1] = 0;
      }
      for (int j = layers - 2; j >= 0; j--) {
        int s = j + 1;
        for (int d = 0; d < devices; d++) {
          int best = Integer.MAX_VALUE;
          for (int e = s; e <= reach[d][s]; e++) {
            best = Math.min(best, minStages[d][e]);
          }
          bestFrom[d] = best;
        }
        for (int d = 0; d < devices; d++) {
          int best = Integer.MAX_VALUE;
          double[] cutRow = cut[j];
          for (int next = 0; next < devices; next++) {
            if (bestFrom[next] < best && cutRow[d * devices + next] <= bound) {
              best = bestFrom[next];
            }
          }
          minStages[d][j] = best == Integer.MAX_VALUE ? best : best + 1;
        }
      }
      boolean feasible = false;
      for (int d = 0; d < devices && !feasible; d++) {
        if (input[d] <= bound) {
          for (int e = 0; e <= reach[d][0]; e++) {
            if (minStages[d][e] <= devices - 1) {
              feasible = true;
              break;
            }
          }
        }
      }
      relaxedFeasible = feasible && fitsCapacity(0L, 0);
    }

    /** Whether the devices outside {@code used} can hold layers {@code from..} by capacity. */
    boolean fitsCapacity(long used, int from) {
      double w = 0.0;
      long p = 0;
      for (int d = 0; d < devices; d++) {
        if ((used & (1L << d)) == 0) {
          w += weightCapacity[d];
          p += paramCapacity[d];
        }
      }
      return weightFrom[from] <= w * (1 + 1e-9) && paramsFrom[from] <= p;
    }

    /** The first position j whose suffix j+1.. fits the capacity of devices outside used. */
    int firstEndWithinCapacity(long used) {
      double w = 0.0;
      long p = 0;
      for (int d = 0; d < devices; d++) {
        if ((used & (1L << d)) == 0) {
          w += weightCapacity[d];
          p += paramCapacity[d];
        }
      }
      int j = 0;
      while (j < layers - 1 && (weightFrom[j + 1] > w * (1 + 1e-9) || paramsFrom[j + 1] > p)) {
        j++;
      }
      return j;
    }

    /**
     * A plan within the bound with distinct devices, or null when none exists.
     *
     * @throws BudgetExhausted when more than {@code nodeBudget} nodes were expanded or the
     *     deadline passed; then nothing is known
     */
    List<StageAssignment> findPlan(long nodeBudget, long deadlineNanos) {
      if (!relaxedFeasible) {
        return null;
      }
      return new FeasibilitySearch(this, nodeBudget, deadlineNanos).run();
    }
  }

  Probe probe(double bound) {
    return new Probe(bound);
  }

  /** Depth-first search for one chain within a probe's bound. */
  private final class FeasibilitySearch {
    private final Probe probe;
    private final long nodeBudget;
    private final long deadlineNanos;
    private long nodes;
    private final Map<Long, long[][]> explored = new HashMap<>();
    private final int[] stackDevice = new int[devices];
    private final long[][] stackEnds = new long[devices][];

    FeasibilitySearch(Probe probe, long nodeBudget, long deadlineNanos) {
      this.probe = probe;
      this.nodeBudget = nodeBudget;
      this.deadlineNanos = deadlineNanos;
    }

    List<StageAssignment> run() {
      List<Child> roots = new ArrayList<>();
      for (int d = 0; d < devices; d++) {
        if (input[d] <= probe.bound && probe.reach[d][0] >= 0) {
          long[] ends = Bits.create(layers);
          Bits.setRange(ends, 0, probe.reach[d][0]);
          roots.add(new Child(d, ends, probe.reach[d][0]));
        }
      }
      roots.sort(Comparator.comparingInt(Child::furthest).reversed());
      for (Child root : roots) {
        int depth = dfs(0, 1L << root.device, root.device, root.ends);
        if (depth >= 0) {
          return reconstruct(depth);
        }
      }
      return null;
    }

    /** Returns the depth of the stage that reached the last layer, or -1. */
    private int dfs(int depth, long used, int device, long[] ends) {
      if (++nodes > nodeBudget || ((nodes & 1023) == 0 && System.nanoTime() > deadlineNanos)) {
        throw new BudgetExhausted();
      }
      stackDevice[depth] = device;
      stackEnds[depth] = ends;
      if (Bits.get(ends, layers - 1)) {
        return depth;
      }
      int usedCount = Long.bitCount(used);
      int[] stagesLeft = probe.minStages[device];
      int firstEnd = probe.firstEndWithinCapacity(used);
      for (int j = Bits.next(ends, 0); j >= 0; j = Bits.next(ends, j + 1)) {
        if (j < firstEnd || stagesLeft[j] > devices - usedCount) {
          ends[j >>> 6] &= ~(1L << j);
        }
      }
      long[][] seen = explored.computeIfAbsent(used, k -> new long[devices][]);
      if (seen[device] == null) {
        seen[device] = Bits.create(layers);
      }
      if (!Bits.removeAll(ends, seen[device])) {
        return -1;
      }
      Bits.addAll(seen[device], ends);
      List<Child> children = new ArrayList<>();
      for (int next = 0; next < devices; next++) {
        if ((used & (1L << next)) != 0) {
          continue;
        }
        long[] nextEnds = null;
        int covered = -1;
        int[] nextReach = probe.reach[next];
        int link = device * devices + next;
        for (int j = Bits.next(ends, 0); j >= 0; j = Bits.next(ends, j + 1)) {
          int s = j + 1;
          int r = nextReach[s];
          if (r <= covered || cut[j][link] > probe.bound) {
            continue;
          }
          if (nextEnds == null) {
            nextEnds = Bits.create(layers);
          }
          Bits.setRange(nextEnds, Math.max(s, covered + 1), r);
          covered = r;
        }
        if (nextEnds != null) {
          children.add(new Child(next, nextEnds, covered));
        }
      }
      children.sort(Comparator.comparingInt(Child::furthest).reversed());
      for (Child child : children) {
        int found = dfs(depth + 1, used | (1L << child.device), child.device, child.ends);
        if (found >= 0) {
          return found;
        }
      }
      return -1;
    }

    private List<StageAssignment> reconstruct(int depth) {
      StageAssignment[] stages = new StageAssignment[depth + 1];
      int end = layers - 1;
      for (int i = depth; i >= 0; i--) {
        int device = stackDevice[i];
        int start = 0;
        if (i > 0) {
          int previous = stackDevice[i - 1];
          start = -1;
          long[] previousEnds = stackEnds[i - 1];
          for (int j = Bits.next(previousEnds, 0); j >= 0 && j < end; j = Bits.next(previousEnds, j + 1)) {
            if (cut[j][previous * devices + device] <= probe.bound && probe.reach[device][j + 1] >= end) {
              start = j + 1;
              break;
            }
          }
          if (start < 0) {
            throw new IllegalStateException("chain reconstruction failed at stage " + i);
          }
        }
        stages[i] = new StageAssignment(device, start, end);
        end = start - 1;
      }
      return List.of(stages);
    }
  }

  private record Child(int device, long[] ends, int furthest) {}

  /**
   * The lowest end-to-end latency among plans within a probe's bound: A* over states (used-device
   * set, last device, last layer) ordered by latency so far plus a lower bound on the rest. The
   * bound is the larger of two that never overestimate: the exact optimum of the rest with devices
   * reusable ({@code finish}), and the least compute the remaining layers need on the unused
   * devices ({@link #computeBound}). So the first complete plan taken from the queue is optimal. A
   * state reached again with no lower latency is dropped. The incumbent (any plan within the
   * bound) cuts every state that cannot beat it.
   */
  final class LatencySearch {
    private final Probe probe;
    private final double[][] finish; // [device][end]: min latency of the rest, devices reusable
    private final long nodeBudget;
    private final long deadlineNanos;
    private long nodes;
    private final Map<StateKey, Double> bestAt = new HashMap<>();
    private List<StageAssignment> best;
    private double bestLatency;
    boolean complete = true;
    /** Per device: least ratio of its layer time to the layer's weight; devices sorted by it. */
    private final double[] rate = new double[devices];
    private final int[] byRate;

    LatencySearch(Probe probe, List<StageAssignment> incumbent, long nodeBudget, long deadlineNanos) {
      this.probe = probe;
      this.nodeBudget = nodeBudget;
      this.deadlineNanos = deadlineNanos;
      this.best = incumbent;
      this.bestLatency = cost.evaluate(incumbent).latency();
      for (int d = 0; d < devices; d++) {
        double least = Double.POSITIVE_INFINITY;
        for (int l = 0; l < layers; l++) {
          if (weight[l] > 0) {
            least = Math.min(least, time[d][l] / weight[l]);
          }
        }
        rate[d] = Double.isFinite(least) ? least : 1.0;
      }
      byRate =
          java.util.stream.IntStream.range(0, devices)
              .boxed()
              .sorted(Comparator.comparingDouble(d -> rate[d]))
              .mapToInt(Integer::intValue)
              .toArray();
      finish = new double[devices][layers];
      double[] fromStart = new double[devices];
      for (int d = 0; d < devices; d++) {
        Arrays.fill(finish[d], Double.POSITIVE_INFINITY);
        finish[d][layers - 1] = 0.0;
      }
      for (int j = layers - 2; j >= 0; j--) {
        int s = j + 1;
        for (int d = 0; d < devices; d++) {
          double bestHere = Double.POSITIVE_INFINITY;
          double sum = 0.0;
          for (int e = s; e <= probe.reach[d][s]; e++) {
            sum += time[d][e];
            bestHere = Math.min(bestHere, sum + finish[d][e]);
          }
          fromStart[d] = bestHere;
        }
        for (int d = 0; d < devices; d++) {
          double bestHere = Double.POSITIVE_INFINITY;
          for (int next = 0; next < devices; next++) {
            double link = cut[j][d * devices + next];
            if (link <= probe.bound) {
              bestHere = Math.min(bestHere, link + fromStart[next]);
            }
          }
          finish[d][j] = bestHere;
        }
      }
    }

    /** The best plan found; optimal when {@link #complete}. */
    List<StageAssignment> run() {
      PriorityQueue<Step> open = new PriorityQueue<>(Comparator.comparingDouble(Step::estimate));
      for (int d = 0; d < devices; d++) {
        if (input[d] > probe.bound) {
          continue;
        }
        double sum = 0.0;
        for (int e = 0; e <= probe.reach[d][0]; e++) {
          sum += time[d][e];
          if (probe.minStages[d][e] <= devices - 1) {
            push(open, new Step(1L << d, d, e, input[d] + sum, 0, null));
          }
        }
      }
      try {
        while (!open.isEmpty()) {
          Step step = open.poll();
          if (step.estimate * (1 - 1e-12) >= bestLatency) {
            break; // nothing left can beat the incumbent
          }
          Double seen = bestAt.get(step.key());
          if (seen != null && seen < step.latency) {
            continue; // reached again more cheaply since it was queued
          }
          if (++nodes > nodeBudget || ((nodes & 1023) == 0 && System.nanoTime() > deadlineNanos)) {
            throw new BudgetExhausted();
          }
          if (step.end == layers - 1) {
            List<StageAssignment> plan = step.plan();
            double latency = cost.evaluate(plan).latency();
            if (latency < bestLatency) {
              bestLatency = latency;
              best = plan;
            }
            break; // the first complete plan out of the queue is optimal
          }
          expand(open, step);
        }
      } catch (BudgetExhausted e) {
        complete = false;
      }
      return best;
    }

    private void expand(PriorityQueue<Step> open, Step step) {
      int usedCount = Long.bitCount(step.used);
      int s = step.end + 1;
      for (int next = 0; next < devices; next++) {
        if ((step.used & (1L << next)) != 0) {
          continue;
        }
        double link = cut[step.end][step.device * devices + next];
        if (link > probe.bound) {
          continue;
        }
        long used = step.used | (1L << next);
        double sum = 0.0;
        for (int e = s; e <= probe.reach[next][s]; e++) {
          sum += time[next][e];
          if (usedCount + 1 + probe.minStages[next][e] <= devices) {
            push(open, new Step(used, next, e, step.latency + link + sum, 0, step));
          }
        }
      }
    }

    /** Queues a state with its estimate unless it cannot beat the incumbent or was reached more cheaply. */
    private void push(PriorityQueue<Step> open, Step raw) {
      boolean last = raw.end == layers - 1;
      double estimate = raw.latency + (last ? 0.0 : finish[raw.device][raw.end]);
      if (estimate * (1 - 1e-12) >= bestLatency) {
        return;
      }
      StateKey key = raw.key();
      Double seen = bestAt.get(key);
      if (seen != null && seen <= raw.latency) {
        return;
      }
      if (!last) {
        estimate = Math.max(estimate, raw.latency + computeBound(raw.used, raw.end));
        if (estimate * (1 - 1e-12) >= bestLatency) {
          return;
        }
      }
      bestAt.put(key, raw.latency);
      open.add(new Step(raw.used, raw.device, raw.end, raw.latency, estimate, raw.parent));
    }

    /**
     * Least compute the layers after {@code end} can take on the unused devices: each device holds
     * at most its weight capacity, at no less than its rate per unit of weight; the cheapest
     * devices are filled first (a fractional assignment, so a lower bound).
     */
    private double computeBound(long used, int end) {
      double need = weightFrom[end + 1];
      double bound = 0.0;
      for (int d : byRate) {
        if (need <= 0) {
          return bound;
        }
        if ((used & (1L << d)) == 0) {
          double take = Math.min(need, probe.weightCapacity[d]);
          bound += take * rate[d];
          need -= take;
        }
      }
      return need <= weightFrom[end + 1] * 1e-9 ? bound : Double.POSITIVE_INFINITY;
    }
  }

  /** A state of the latency search: the last stage ends at {@code end} on {@code device}; linked to the one before. */
  private record Step(long used, int device, int end, double latency, double estimate, Step parent) {
    StateKey key() {
      return new StateKey(used, device, end);
    }

    List<StageAssignment> plan() {
      List<StageAssignment> stages = new ArrayList<>();
      for (Step s = this; s != null; s = s.parent) {
        stages.add(0, new StageAssignment(s.device, s.parent == null ? 0 : s.parent.end + 1, s.end));
      }
      return stages;
    }
  }

  private record StateKey(long used, int device, int end) {}

  /** One line saying why no plan exists at any bottleneck. */
  InfeasibleInstanceException explainInfeasible() {
    List<DeviceSpec> specs = cost.instance().devices();
    long largest = Arrays.stream(capacity).max().orElse(0);
    for (int l = 0; l < layers; l++) {
      long need = param[l] + work[l];
      if (need > largest) {
        return new InfeasibleInstanceException(
            "layer " + l + " (" + cost.instance().layers().get(l).name() + ") needs " + need
                + " B of memory but the largest device has " + largest + " B");
      }
    }
    boolean anyInput = false;
    for (int d = 0; d < devices; d++) {
      anyInput |= Double.isFinite(input[d]);
    }
    if (!anyInput) {
      return new InfeasibleInstanceException(
          "the source device " + specs.get(cost.instance().source()).name() + " has no link to any device");
    }
    return new InfeasibleInstanceException(
        "no chain of distinct devices holds the model: total memory or links (bandwidth 0 = no link) do not allow a "
            + "valid split across " + devices + " devices");
  }
}
