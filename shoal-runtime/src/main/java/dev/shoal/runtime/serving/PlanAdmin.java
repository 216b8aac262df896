package dev.shoal.runtime.serving;

import java.util.List;

/**
 * Run-time control of the plans a service holds for its models: several deployed plans per model
 * (for example a Fluid network's high-accuracy and high-throughput modes), one of them active.
 * Activating a plan is atomic: requests accepted afterwards take the new plan, requests in flight
 * finish on the one they started on. Reached through the API's authenticated admin calls and
 * programmatically (an automatic mode switcher).
 */
public interface PlanAdmin {

  /** A deployed plan of a model. */
  record PlanInfo(String model, String plan, boolean active, String summary) {}

  List<PlanInfo> plans();

  /**
   * Makes {@code plan} the active plan of {@code model}.
   *
   * @throws InferenceException NOT_FOUND for an unknown model or plan
   */
  void activate(String model, String plan);
}
