package dev.shoal.plan.replicate;

import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.List;

/**
 * A pipeline whose stages may run on several devices, requests dealt to a stage's replicas round
 * robin (the optional extension of the planner; it changes the pinned cost model, so its figures
 * are reported apart). Request k runs stage s on replica {@code k mod |R_s|}. Over a cycle of
 * requests each replica of stage s serves 1/|R_s| of them, and a link between replicas of
 * consecutive stages with m and n replicas carries 1/lcm(m, n) of them, so a term's share of the
 * period is its seconds divided by that count. The period (seconds per request at steady state,
 * the replicated counterpart of the bottleneck) is the largest such share. Links stay
 * independent, as in the pinned model: a shared medium would not divide.
 */
public record ReplicatedPlan(List<Stage> stages) {

  /** Layers {@code first..last} on every device of {@code devices} (distinct across the plan). */
  public record Stage(List<Integer> devices, int first, int last) {}

  /** The plan of single-device stages. */
  public static ReplicatedPlan of(PipelinePlan plan) {
    List<Stage> stages = new ArrayList<>();
    for (StageAssignment s : plan.stages()) {
      stages.add(new Stage(List.of(s.device()), s.first(), s.last()));
    }
    return new ReplicatedPlan(List.copyOf(stages));
  }

  /** Seconds per request at steady state under round robin (see the class comment). */
  public double period(PipelineCost cost) {
    double period = 0;
    Stage first = stages.get(0);
    for (int d : first.devices()) {
      period = Math.max(period, cost.inputTransfer(d) / first.devices().size());
    }
    for (int s = 0; s < stages.size(); s++) {
      Stage stage = stages.get(s);
      int n = stage.devices().size();
      for (int d : stage.devices()) {
        period = Math.max(period, cost.stageCompute(d, stage.first(), stage.last()) / n);
      }
      if (s > 0) {
        Stage previous = stages.get(s - 1);
        int m = previous.devices().size();
        int cycle = lcm(m, n);
        // request k goes from previous replica k mod m to replica k mod n: the pairs of one cycle
        for (int k = 0; k < cycle; k++) {
          double t = cost.cutTransfer(previous.last(), previous.devices().get(k % m), stage.devices().get(k % n));
          period = Math.max(period, t / cycle);
        }
      }
    }
    return period;
  }

  static int lcm(int a, int b) {
    int x = a;
    int y = b;
    while (y != 0) {
      int t = x % y;
      x = y;
      y = t;
    }
    return a / x * b;
  }
}
