package dev.shoal.plan.solve;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The paper's random baseline: random cuts in a random device order. Built stage by stage: a
 * device drawn uniformly among the unused ones that are linked to the previous stage and hold the
 * next layer, and an end drawn uniformly among the layers that still fit its memory; a draw that
 * runs out of devices starts over. The same seed gives the same plan.
 */
public final class RandomSolver implements PipelineSolver {

  static final int ATTEMPTS = 10_000;

  private final long seed;

  public RandomSolver(long seed) {
    this.seed = seed;
  }

  @Override
  public String name() {
    return "random";
  }

  @Override
  public PipelinePlan solve(Instance instance) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    SplittableRandom random = new SplittableRandom(seed);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      List<StageAssignment> stages = draw(cost, random);
      if (stages != null) {
        return cost.plan(stages, (System.nanoTime() - start) / 1_000_000);
      }
    }
    throw new InfeasibleInstanceException("random: no valid plan in " + ATTEMPTS + " random draws");
  }

  private static List<StageAssignment> draw(PipelineCost cost, SplittableRandom random) {
    int devices = cost.deviceCount();
    int layers = cost.layerCount();
    boolean[] used = new boolean[devices];
    List<StageAssignment> stages = new ArrayList<>();
    int previous = -1;
    int first = 0;
    int[] options = new int[devices];
    while (first < layers) {
      int count = 0;
      for (int d = 0; d < devices; d++) {
        boolean linked =
            previous < 0 ? Double.isFinite(cost.inputTransfer(d)) : Double.isFinite(cost.cutTransfer(first - 1, previous, d));
        if (!used[d] && linked && cost.stageMemory(first, first) <= memory(cost, d)) {
          options[count++] = d;
        }
      }
      if (count == 0) {
        return null;
      }
      int device = options[random.nextInt(count)];
      int maxEnd = first;
      while (maxEnd + 1 < layers && cost.stageMemory(first, maxEnd + 1) <= memory(cost, device)) {
        maxEnd++;
      }
      int last = first + random.nextInt(maxEnd - first + 1);
      used[device] = true;
      stages.add(new StageAssignment(device, first, last));
      previous = device;
      first = last + 1;
    }
    return stages;
  }

  private static long memory(PipelineCost cost, int device) {
    return cost.instance().devices().get(device).memoryBytes();
  }
}
