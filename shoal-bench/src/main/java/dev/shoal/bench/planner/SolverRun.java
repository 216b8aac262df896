package dev.shoal.bench.planner;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.solve.ExactSolver;
import dev.shoal.plan.solve.GreedySolver;
import dev.shoal.plan.solve.HeuristicSolver;
import dev.shoal.plan.solve.RandomSolver;

/**
 * Every solver on one instance: bottlenecks (NaN where a solver found no plan), what exact proved,
 * solve times as wall clock and as the solving thread's CPU time (the machine may be shared).
 */
record SolverRun(
    double random,
    double greedy,
    double heuristic,
    double exact,
    double exactLatency,
    double exactLowerBound,
    boolean bottleneckProven,
    boolean latencyProven,
    int stages,
    double exactMillis,
    double exactCpuMillis,
    double heuristicMillis,
    double heuristicCpuMillis,
    PipelinePlan exactPlan) {

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /** Runs random ({@code draws} seeds, mean bottleneck), greedy, heuristic and exact (within the limit). */
  static SolverRun of(Instance instance, int draws, long exactLimitMillis) {
    double randomSum = 0;
    int randomFound = 0;
    for (int draw = 1; draw <= draws; draw++) {
      RandomSolver random = new RandomSolver(draw);
      double b = bottleneckOrNaN(() -> random.solve(instance));
      if (!Double.isNaN(b)) {
        randomSum += b;
        randomFound++;
      }
    }
    double greedy = bottleneckOrNaN(() -> new GreedySolver().solve(instance));
    long start = System.nanoTime();
    long cpu = THREADS.getCurrentThreadCpuTime();
    double heuristic = bottleneckOrNaN(() -> new HeuristicSolver().solve(instance));
    double heuristicMillis = (System.nanoTime() - start) / 1e6;
    double heuristicCpuMillis = (THREADS.getCurrentThreadCpuTime() - cpu) / 1e6;
    start = System.nanoTime();
    cpu = THREADS.getCurrentThreadCpuTime();
    ExactSolver.Bounded exact = new ExactSolver().solveWithin(instance, exactLimitMillis);
    double exactMillis = (System.nanoTime() - start) / 1e6;
    double exactCpuMillis = (THREADS.getCurrentThreadCpuTime() - cpu) / 1e6;
    PipelinePlan plan = exact.plan();
    return new SolverRun(
        randomFound == 0 ? Double.NaN : randomSum / randomFound, greedy, heuristic, plan.bottleneck(),
        plan.latency(), exact.lowerBound(), exact.bottleneckProven(), exact.latencyProven(),
        plan.stages().size(), exactMillis, exactCpuMillis, heuristicMillis, heuristicCpuMillis, plan);
  }

  /** "optimal" (bottleneck and latency proven), "bottleneck optimal", or "lower bound X s". */
  String proof() {
    if (bottleneckProven && latencyProven) {
      return "optimal";
    }
    if (bottleneckProven) {
      return "bottleneck optimal";
    }
    return String.format(java.util.Locale.ROOT, "bound %.4g s", exactLowerBound);
  }

  private static double bottleneckOrNaN(java.util.function.Supplier<PipelinePlan> solve) {
    try {
      return solve.get().bottleneck();
    } catch (InfeasibleInstanceException e) {
      return Double.NaN;
    }
  }
}
