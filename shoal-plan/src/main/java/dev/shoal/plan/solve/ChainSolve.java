package dev.shoal.plan.solve;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.StageAssignment;
import java.util.Arrays;
import java.util.List;

/**
 * Bottleneck first, latency second, on top of {@link ChainSearch}: the relaxed bound (devices
 * reusable, polynomial) gives a proven lower bound; from there the smallest feasible candidate is
 * found by galloping then bisection (feasibility is monotone in the bound); then the latency pass
 * runs under the optimal bound. With unlimited budgets every step is exhaustive, so the answer is
 * the proven optimum; with budgets a cut-short probe counts as "not found" and the answer is only
 * a good feasible plan.
 */
final class ChainSolve {

  /** A plan and what is proven about it. */
  record Outcome(
      List<StageAssignment> stages, double lowerBound, boolean bottleneckProven, boolean latencyProven) {}

  /** How much larger the last-resort search budget is than a probe's. */
  private static final long FALLBACK_FACTOR = 100;

  private ChainSolve() {}

  static Outcome solve(PipelineCost cost, long probeBudget, long latencyBudget, long deadlineNanos) {
    ChainSearch search = new ChainSearch(cost);
    double[] candidates = search.candidates();
    int top = candidates.length - 1;
    if (top < 0 || !search.probe(candidates[top]).relaxedFeasible) {
      throw search.explainInfeasible();
    }
    int lo = 0;
    int hi = top;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (search.probe(candidates[mid]).relaxedFeasible) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    int provenInfeasible = lo - 1; // every bound at or below this index has no plan
    int unknownBelow = -1; // highest index where a probe was cut short
    List<StageAssignment> plan = null;
    int planIndex = -1;
    int index = lo;
    int step = 1;
    while (plan == null) {
      Probed probed = probe(search, candidates[index], probeBudget, deadlineNanos);
      if (probed.plan != null) {
        plan = probed.plan;
        planIndex = indexOf(candidates, cost.evaluate(plan).bottleneck());
      } else {
        if (probed.proven) {
          provenInfeasible = Math.max(provenInfeasible, index);
        } else {
          unknownBelow = Math.max(unknownBelow, index);
        }
        if (index == top) {
          break;
        }
        index = Math.min(top, index + step);
        step *= 2;
      }
    }
    if (plan == null) {
      if (unknownBelow < 0) {
        throw search.explainInfeasible();
      }
      // Every probe was cut short: one more search at the loosest bound with a larger budget
      // (still polynomial with a finite budget; unlimited for the exact solver).
      long fallbackBudget = probeBudget == Long.MAX_VALUE ? Long.MAX_VALUE : probeBudget * FALLBACK_FACTOR;
      List<StageAssignment> any;
      try {
        any = search.probe(candidates[top]).findPlan(fallbackBudget, Long.MAX_VALUE);
      } catch (ChainSearch.BudgetExhausted e) {
        throw new InfeasibleInstanceException(
            "no plan found within the search budget of the heuristic (" + fallbackBudget
                + " nodes); the exact solver searches without one");
      }
      if (any == null) {
        throw search.explainInfeasible();
      }
      plan = any;
      planIndex = indexOf(candidates, cost.evaluate(plan).bottleneck());
    }
    int failed = Math.max(provenInfeasible, Math.min(unknownBelow, planIndex - 1));
    while (planIndex - failed > 1) {
      int mid = (failed + planIndex) >>> 1;
      Probed probed = probe(search, candidates[mid], probeBudget, deadlineNanos);
      if (probed.plan != null) {
        plan = probed.plan;
        planIndex = indexOf(candidates, cost.evaluate(plan).bottleneck());
      } else {
        failed = mid;
        if (probed.proven) {
          provenInfeasible = Math.max(provenInfeasible, mid);
        } else {
          unknownBelow = Math.max(unknownBelow, mid);
        }
      }
    }
    boolean bottleneckProven = provenInfeasible == planIndex - 1;
    ChainSearch.Probe optimal = search.probe(candidates[planIndex]);
    ChainSearch.LatencySearch latency = search.new LatencySearch(optimal, plan, latencyBudget, deadlineNanos);
    List<StageAssignment> best = latency.run();
    double lowerBound = candidates[Math.min(provenInfeasible + 1, planIndex)];
    return new Outcome(best, lowerBound, bottleneckProven, bottleneckProven && latency.complete);
  }

  private record Probed(List<StageAssignment> plan, boolean proven) {}

  private static Probed probe(ChainSearch search, double bound, long budget, long deadlineNanos) {
    try {
      return new Probed(search.probe(bound).findPlan(budget, deadlineNanos), true);
    } catch (ChainSearch.BudgetExhausted e) {
      return new Probed(null, false);
    }
  }

  private static int indexOf(double[] candidates, double value) {
    int i = Arrays.binarySearch(candidates, value);
    if (i < 0) {
      throw new IllegalStateException("bottleneck " + value + " is not one of the candidate values");
    }
    return i;
  }
}
