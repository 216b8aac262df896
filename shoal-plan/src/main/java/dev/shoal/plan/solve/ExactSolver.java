package dev.shoal.plan.solve;

import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;

/**
 * The proven optimum: lowest bottleneck, then lowest end-to-end latency among plans with that
 * bottleneck (see {@link ChainSearch} and {@link ChainSolve} for how and why). Up to 64 devices.
 */
public final class ExactSolver implements PipelineSolver {

  @Override
  public String name() {
    return "exact";
  }

  @Override
  public PipelinePlan solve(Instance instance) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    ChainSolve.Outcome outcome = ChainSolve.solve(cost, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);
    return cost.plan(outcome.stages(), (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * The exact search stopped after {@code timeLimitMillis}: the best plan found by then and the
   * proven lower bound on the bottleneck; {@code bottleneckProven} when the plan's bottleneck is
   * the optimum, {@code latencyProven} when its latency is optimal too.
   */
  public Bounded solveWithin(Instance instance, long timeLimitMillis) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    ChainSolve.Outcome outcome =
        ChainSolve.solve(cost, Long.MAX_VALUE, Long.MAX_VALUE, start + timeLimitMillis * 1_000_000);
    PipelinePlan plan = cost.plan(outcome.stages(), (System.nanoTime() - start) / 1_000_000);
    return new Bounded(plan, outcome.lowerBound(), outcome.bottleneckProven(), outcome.latencyProven());
  }

  /** What a time-limited exact run proved. */
  public record Bounded(PipelinePlan plan, double lowerBound, boolean bottleneckProven, boolean latencyProven) {}
}
