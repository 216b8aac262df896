package dev.shoal.runtime.coordinator;

import dev.shoal.plan.InfeasibleInstanceException;
import java.util.List;

/** Decides the stages and their placement over the workers that are alive now. */
public interface StagePlanner {

  /**
   * @param alive the live workers, in cluster-file order
   * @throws InfeasibleInstanceException when no pipeline fits on them
   */
  PlannedPipeline plan(List<WorkerEndpoint> alive);
}
