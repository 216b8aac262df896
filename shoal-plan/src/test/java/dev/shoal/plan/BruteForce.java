package dev.shoal.plan;

import java.util.ArrayList;
import java.util.List;

/** Every plan of a small instance, enumerated: all cut sets times all ordered device choices. */
final class BruteForce {

  private BruteForce() {}

  /** The lexicographically best (bottleneck, latency) valid plan, or null when none is valid. */
  static PipelineCost.Evaluation best(Instance instance) {
    PipelineCost cost = new PipelineCost(instance);
    int layers = cost.layerCount();
    int devices = cost.deviceCount();
    PipelineCost.Evaluation best = null;
    for (int cuts = 0; cuts < 1 << (layers - 1); cuts++) {
      List<int[]> ranges = new ArrayList<>();
      int first = 0;
      for (int l = 0; l < layers - 1; l++) {
        if ((cuts & (1 << l)) != 0) {
          ranges.add(new int[] {first, l});
          first = l + 1;
        }
      }
      ranges.add(new int[] {first, layers - 1});
      if (ranges.size() > devices) {
        continue;
      }
      best = better(best, orderings(cost, ranges, new ArrayList<>(), new boolean[devices]));
    }
    return best;
  }

  private static PipelineCost.Evaluation orderings(
      PipelineCost cost, List<int[]> ranges, List<StageAssignment> prefix, boolean[] used) {
    if (prefix.size() == ranges.size()) {
      return cost.problems(prefix).isEmpty() ? cost.evaluate(prefix) : null;
    }
    PipelineCost.Evaluation best = null;
    int[] range = ranges.get(prefix.size());
    for (int d = 0; d < used.length; d++) {
      if (used[d]) {
        continue;
      }
      used[d] = true;
      prefix.add(new StageAssignment(d, range[0], range[1]));
      best = better(best, orderings(cost, ranges, prefix, used));
      prefix.remove(prefix.size() - 1);
      used[d] = false;
    }
    return best;
  }

  private static PipelineCost.Evaluation better(PipelineCost.Evaluation a, PipelineCost.Evaluation b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    if (b.bottleneck() != a.bottleneck()) {
      return b.bottleneck() < a.bottleneck() ? b : a;
    }
    return b.latency() < a.latency() ? b : a;
  }
}
