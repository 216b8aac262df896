package dev.shoal.bench.availability;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Stage;
import java.util.List;

/**
 * Pipeline model parallelism without re-planning: the first plan is kept, and once one of its
 * workers is gone there is no plan (every request is refused) until that worker is back.
 */
final class PinnedPlanner implements PlanProducer {

  private final PlanProducer first;
  private PlanBundle pinned;

  PinnedPlanner(PlanProducer first) {
    this.first = first;
  }

  @Override
  public String name() {
    return first.name();
  }

  @Override
  public synchronized PlanBundle plan(List<String> liveDevices) {
    if (pinned == null) {
      pinned = first.plan(liveDevices);
    }
    for (Stage s : pinned.plan().stages()) {
      for (String d : s.devices()) {
        if (!liveDevices.contains(d)) {
          throw new InfeasibleInstanceException("re-planning is off and worker " + d + " of the plan is down");
        }
      }
    }
    return pinned;
  }
}
