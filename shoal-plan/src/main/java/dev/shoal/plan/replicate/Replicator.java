package dev.shoal.plan.replicate;

import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Greedy replication of bottleneck stages on the devices a plan leaves unused: while some unused
 * device, added as a replica to some stage, lowers the period, add the one that lowers it most. A
 * replica must hold the whole stage in memory and have finite links to every replica before and
 * after it (and from the source when it replicates the first stage). Starting from the exact
 * plan, the period never exceeds the exact bottleneck.
 */
public final class Replicator {

  private Replicator() {}

  public static ReplicatedPlan replicate(PipelineCost cost, PipelinePlan plan) {
    ReplicatedPlan current = ReplicatedPlan.of(plan);
    double period = current.period(cost);
    Set<Integer> used = new HashSet<>();
    for (var stage : plan.stages()) {
      used.add(stage.device());
    }
    while (true) {
      ReplicatedPlan best = null;
      double bestPeriod = period;
      int bestDevice = -1;
      for (int d = 0; d < cost.deviceCount(); d++) {
        if (used.contains(d)) {
          continue;
        }
        for (int s = 0; s < current.stages().size(); s++) {
          if (!fits(cost, current, s, d)) {
            continue;
          }
          ReplicatedPlan candidate = withReplica(current, s, d);
          double p = candidate.period(cost);
          if (p < bestPeriod) {
            best = candidate;
            bestPeriod = p;
            bestDevice = d;
          }
        }
      }
      if (best == null) {
        return current;
      }
      current = best;
      period = bestPeriod;
      used.add(bestDevice);
    }
  }

  private static boolean fits(PipelineCost cost, ReplicatedPlan plan, int s, int device) {
    ReplicatedPlan.Stage stage = plan.stages().get(s);
    if (cost.stageMemory(stage.first(), stage.last()) > cost.instance().devices().get(device).memoryBytes()) {
      return false;
    }
    if (s == 0 && Double.isInfinite(cost.inputTransfer(device))) {
      return false;
    }
    if (s > 0) {
      ReplicatedPlan.Stage previous = plan.stages().get(s - 1);
      for (int p : previous.devices()) {
        if (Double.isInfinite(cost.cutTransfer(previous.last(), p, device))) {
          return false;
        }
      }
    }
    if (s + 1 < plan.stages().size()) {
      for (int n : plan.stages().get(s + 1).devices()) {
        if (Double.isInfinite(cost.cutTransfer(stage.last(), device, n))) {
          return false;
        }
      }
    }
    return true;
  }

  private static ReplicatedPlan withReplica(ReplicatedPlan plan, int s, int device) {
    List<ReplicatedPlan.Stage> stages = new ArrayList<>(plan.stages());
    ReplicatedPlan.Stage stage = stages.get(s);
    List<Integer> devices = new ArrayList<>(stage.devices());
    devices.add(device);
    stages.set(s, new ReplicatedPlan.Stage(List.copyOf(devices), stage.first(), stage.last()));
    return new ReplicatedPlan(List.copyOf(stages));
  }
}
