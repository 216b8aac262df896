package dev.shoal.plan.solve;

import dev.shoal.plan.PipelineSolver;
import java.util.List;

/** The solvers by name, as the CLI and benchmarks know them. */
public final class Solvers {

  public static final List<String> NAMES = List.of("exact", "heuristic", "greedy", "random");

  private Solvers() {}

  /** @throws IllegalArgumentException for an unknown name */
  public static PipelineSolver byName(String name, long seed) {
    return switch (name) {
      case "exact" -> new ExactSolver();
      case "heuristic" -> new HeuristicSolver();
      case "greedy" -> new GreedySolver();
      case "random" -> new RandomSolver(seed);
      default -> throw new IllegalArgumentException("unknown solver '" + name + "' (expected one of " + NAMES + ")");
    };
  }
}
