package dev.shoal.plan.graph;

/**
 * What the cost model predicts for a plan: seconds per request at steady state (the bottleneck,
 * or the period of a replicated plan), end-to-end latency of one request, and how it was
 * computed. NaN where unknown (a plan not solved by a cost model).
 */
public record Predicted(double periodSeconds, double latencySeconds, String model) {

  public static final Predicted UNKNOWN = new Predicted(Double.NaN, Double.NaN, "none");

  /** Requests per second at steady state, 1 / period. */
  public double throughput() {
    return 1.0 / periodSeconds;
  }
}
