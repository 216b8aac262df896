package dev.shoal.plan.solve;

import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Polynomial time: the exact solver's search with a node budget per bottleneck probe of
 * {@value #PROBE_NODES_PER_CELL} x layers x devices (each node costs O(devices x layers); past 16
 * devices the budget shrinks by (16 / devices)^2), so a probe that cannot find a plan within it
 * counts as infeasible, and a latency pass of {@value #LATENCY_NODES_PER_CELL} x layers x devices
 * states (shrunk alike). The relaxed lower bound and the
 * most-progress-first ordering usually find the optimal chain within the budget; when not, the
 * answer is a feasible plan a little above it. Clusters of more than {@value #MAX_DEVICES} devices
 * are first narrowed to the {@value #MAX_DEVICES} most promising ones (fast, large, well linked;
 * the source always kept).
 */
public final class HeuristicSolver implements PipelineSolver {

  static final int PROBE_NODES_PER_CELL = 50;
  static final int LATENCY_NODES_PER_CELL = 2;
  static final int MAX_DEVICES = 64;

  @Override
  public String name() {
    return "heuristic";
  }

  @Override
  public PipelinePlan solve(Instance instance) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    int[] kept = promising(instance);
    Instance narrowed = kept.length == instance.devices().size() ? instance : instance.onDevices(kept);
    int devices = narrowed.devices().size();
    // a node costs O(devices x layers): past 16 devices the budget shrinks so that a probe's work
    // grows with layers x devices only, as it does up to 16
    double shrink = devices <= 16 ? 1.0 : (16.0 * 16.0) / ((double) devices * devices);
    long cells = (long) narrowed.layers().size() * devices;
    ChainSolve.Outcome outcome =
        ChainSolve.solve(
            new PipelineCost(narrowed), Math.max(1000, Math.round(PROBE_NODES_PER_CELL * cells * shrink)),
            Math.max(100, Math.round(LATENCY_NODES_PER_CELL * cells * shrink)), Long.MAX_VALUE);
    List<StageAssignment> stages = new ArrayList<>();
    for (StageAssignment stage : outcome.stages()) {
      stages.add(new StageAssignment(kept[stage.device()], stage.first(), stage.last()));
    }
    return cost.plan(stages, (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * Indices (ascending) of at most {@link #MAX_DEVICES} devices, ranked by speed (layer weight per
   * second) x share of the model's memory it holds (at most 1) x its median link bandwidth.
   */
  static int[] promising(Instance instance) {
    int devices = instance.devices().size();
    if (devices <= MAX_DEVICES) {
      return IntStream.range(0, devices).toArray();
    }
    List<Layer> layers = instance.layers();
    long modelBytes = 0;
    for (Layer layer : layers) {
      modelBytes += layer.paramBytes();
    }
    double[] score = new double[devices];
    for (int d = 0; d < devices; d++) {
      double seconds = 0;
      for (Layer layer : layers) {
        seconds += layer.time()[d];
      }
      double speed = seconds > 0 ? 1 / seconds : 1;
      double memory = Math.min(1.0, instance.devices().get(d).memoryBytes() / (double) Math.max(1, modelBytes));
      double[] links = new double[devices - 1];
      int n = 0;
      for (int o = 0; o < devices; o++) {
        if (o != d) {
          links[n++] = Math.min(instance.bandwidth()[d][o], instance.bandwidth()[o][d]);
        }
      }
      Arrays.sort(links);
      score[d] = speed * memory * links[links.length / 2];
    }
    Integer source = instance.source();
    return IntStream.range(0, devices)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer d) -> source != null && d.equals(source) ? Double.NEGATIVE_INFINITY : -score[d]))
        .limit(MAX_DEVICES)
        .mapToInt(Integer::intValue)
        .sorted()
        .toArray();
  }
}
