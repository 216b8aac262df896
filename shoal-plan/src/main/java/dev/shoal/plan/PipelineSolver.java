package dev.shoal.plan;

/** Partitions and places a pipeline: every solver (exact, heuristic, greedy, random) is one. */
public interface PipelineSolver {

  String name();

  /**
   * @throws InfeasibleInstanceException when no plan satisfies memory and connectivity
   */
  PipelinePlan solve(Instance instance);
}
