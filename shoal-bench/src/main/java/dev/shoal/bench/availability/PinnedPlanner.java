package dev.shoal.bench.availability;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.PlannedStage;
import dev.shoal.runtime.coordinator.StagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import java.util.List;

/**
 * Pipeline model parallelism without re-planning: the first plan is kept, and once one of its
 * workers is gone there is no plan (every request is refused) until that worker is back.
 */
final class PinnedPlanner implements StagePlanner {

  private final StagePlanner first;
  private PlannedPipeline pinned;

  PinnedPlanner(StagePlanner first) {
    this.first = first;
  }

  @Override
  public synchronized PlannedPipeline plan(List<WorkerEndpoint> alive) {
    if (pinned == null) {
      pinned = first.plan(alive);
    }
    for (PlannedStage s : pinned.stages()) {
      if (!alive.contains(s.worker())) {
        throw new InfeasibleInstanceException("re-planning is off and worker " + s.worker().name()
            + " of the plan is down");
      }
    }
    return pinned;
  }
}
