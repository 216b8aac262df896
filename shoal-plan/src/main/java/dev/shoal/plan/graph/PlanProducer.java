package dev.shoal.plan.graph;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A strategy's plan for the devices that are alive now; the coordinator asks again on the
 * survivors when a required stage is lost, and when a device comes back.
 */
public interface PlanProducer {

  /** The plan's name (its producers keep one name across re-plans). */
  String name();

  /**
   * @param liveDevices the devices whose workers are alive, in cluster order
   * @throws dev.shoal.plan.InfeasibleInstanceException when no plan fits on them
   */
  PlanBundle plan(List<String> liveDevices);

  /**
   * Response parameters that say how an answer of {@code plan} (one of this producer's plans) was
   * made, given the stages whose outputs made it (those answering the response, and the merge
   * members that answered); none by default.
   */
  default Map<String, String> answerParameters(Plan plan, Set<String> answeringStages) {
    return Map.of();
  }
}
