package dev.shoal.plan.solve;

import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;

/**
 * Polynomial time: the exact solver's search with a fixed number of search nodes per probe
 * (each node costs O(devices x layers)), so a probe that cannot find a plan quickly counts as
 * infeasible. The relaxed lower bound and the most-progress-first ordering usually find the
 * optimal chain within the budget; when not, the answer is a feasible plan a little above it.
 */
public final class HeuristicSolver implements PipelineSolver {

  private final long probeBudget;
  private final long latencyBudget;

  public HeuristicSolver() {
    this(2_000, 20_000);
  }

  /** Budgets in search nodes for each bottleneck probe and for the latency pass. */
  public HeuristicSolver(long probeBudget, long latencyBudget) {
    this.probeBudget = probeBudget;
    this.latencyBudget = latencyBudget;
  }

  @Override
  public String name() {
    return "heuristic";
  }

  @Override
  public PipelinePlan solve(Instance instance) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    ChainSolve.Outcome outcome = ChainSolve.solve(cost, probeBudget, latencyBudget, Long.MAX_VALUE);
    return cost.plan(outcome.stages(), (System.nanoTime() - start) / 1_000_000);
  }
}
