package dev.shoal.bench.planner;

import com.google.ortools.Loader;
import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import com.google.ortools.sat.Literal;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.StageAssignment;
import java.util.ArrayList;
import java.util.List;

/**
 * An independent model of the pinned cost model in OR-Tools CP-SAT, the cross-check of our exact
 * solver. x[l][d] places layer l on device d; each device's layers are contiguous (at most one
 * start of a run); end[l][d] / begin[l][d] mark a run of d ending at l / starting at l + 1, and a
 * transfer from a to b after layer l is active when end[l][a] and begin[l][b] both hold. Costs are
 * integers in units of {@code unit} seconds (rounded per term), so the optimum of the integer model
 * may differ from the true one by at most (layers + 1) units: the plan CP-SAT returns is therefore
 * re-evaluated with {@link PipelineCost}. First the bottleneck is minimised, then, with it fixed,
 * the latency.
 */
public final class CpSatPlanner {

  static {
    Loader.loadNativeLibraries();
  }

  /** What CP-SAT found: its plan (null if none), whether optimality / infeasibility was proven, and its lower bound (s). */
  public record Result(
      List<StageAssignment> stages,
      Status bottleneckStatus,
      Status latencyStatus,
      double lowerBound,
      double unit,
      long millis) {}

  /** OPTIMAL and INFEASIBLE are proofs; FEASIBLE means a plan without proof; UNKNOWN: nothing in time. */
  public enum Status {
    OPTIMAL,
    FEASIBLE,
    INFEASIBLE,
    UNKNOWN,
    SKIPPED
  }

  private final double timeLimitSeconds;

  public CpSatPlanner(double timeLimitSeconds) {
    this.timeLimitSeconds = timeLimitSeconds;
  }

  /**
   * @param upperBound a known feasible bottleneck (s) used only to size the integer scale and to
   *     leave out terms that exceed it; {@code Double.POSITIVE_INFINITY} when none is known
   */
  public Result solve(Instance instance, double upperBound) {
    long start = System.nanoTime();
    PipelineCost cost = new PipelineCost(instance);
    double unit = unit(cost, upperBound);
    Built first = build(cost, unit, upperBound);
    first.model.minimize(first.bottleneck);
    CpSolver solver = solver();
    CpSolverStatus status = solver.solve(first.model);
    Status bottleneckStatus = map(status);
    if (bottleneckStatus == Status.INFEASIBLE || bottleneckStatus == Status.UNKNOWN) {
      return new Result(null, bottleneckStatus, Status.SKIPPED, bottleneckStatus == Status.INFEASIBLE
          ? Double.POSITIVE_INFINITY : Math.max(0, (solver.bestObjectiveBound() - cost.layerCount() - 1) * unit),
          unit, millis(start));
    }
    List<StageAssignment> stages = first.plan(solver);
    long optimum = Math.round(solver.objectiveValue());
    double lowerBound = Math.max(0, (solver.bestObjectiveBound() - cost.layerCount() - 1) * unit);
    Status latencyStatus = Status.SKIPPED;
    if (bottleneckStatus == Status.OPTIMAL) {
      Built second = build(cost, unit, upperBound);
      second.model.addLessOrEqual(second.bottleneck, optimum);
      second.model.minimize(second.latency);
      CpSolver latencySolver = solver();
      latencyStatus = map(latencySolver.solve(second.model));
      if (latencyStatus == Status.OPTIMAL || latencyStatus == Status.FEASIBLE) {
        stages = second.plan(latencySolver);
      }
    }
    return new Result(stages, bottleneckStatus, latencyStatus, lowerBound, unit, millis(start));
  }

  private static long millis(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  private CpSolver solver() {
    CpSolver solver = new CpSolver();
    solver.getParameters().setNumWorkers(1).setMaxTimeInSeconds(timeLimitSeconds);
    return solver;
  }

  private static Status map(CpSolverStatus status) {
    return switch (status) {
      case OPTIMAL -> Status.OPTIMAL;
      case FEASIBLE -> Status.FEASIBLE;
      case INFEASIBLE -> Status.INFEASIBLE;
      default -> Status.UNKNOWN;
    };
  }

  /**
   * Seconds per integer unit: 1 when every cost term is a whole number (then the integer model is
   * exact), else about a millionth of the upper bound (or of the largest finite term).
   */
  private static double unit(PipelineCost cost, double upperBound) {
    if (wholeNumbers(cost)) {
      return 1.0;
    }
    double scale = upperBound;
    if (!(scale > 0) || Double.isInfinite(scale)) {
      scale = 0;
      for (int d = 0; d < cost.deviceCount(); d++) {
        scale = Math.max(scale, cost.stageCompute(d, 0, cost.layerCount() - 1));
      }
      for (int l = 0; l + 1 < cost.layerCount(); l++) {
        for (int a = 0; a < cost.deviceCount(); a++) {
          for (int b = 0; b < cost.deviceCount(); b++) {
            double t = cost.cutTransfer(l, a, b);
            if (Double.isFinite(t)) {
              scale = Math.max(scale, t);
            }
          }
        }
      }
    }
    return scale > 0 ? scale / 1e6 : 1e-9;
  }

  private static boolean wholeNumbers(PipelineCost cost) {
    for (Layer layer : cost.instance().layers()) {
      for (double t : layer.time()) {
        if (t != Math.rint(t)) {
          return false;
        }
      }
    }
    for (int d = 0; d < cost.deviceCount(); d++) {
      double t = cost.inputTransfer(d);
      if (Double.isFinite(t) && t != Math.rint(t)) {
        return false;
      }
    }
    for (int l = 0; l + 1 < cost.layerCount(); l++) {
      for (int a = 0; a < cost.deviceCount(); a++) {
        for (int b = 0; b < cost.deviceCount(); b++) {
          double t = cost.cutTransfer(l, a, b);
          if (Double.isFinite(t) && t != Math.rint(t)) {
            return false;
          }
        }
      }
    }
    return true;
  }

  private record Built(CpModel model, BoolVar[][] x, IntVar bottleneck, LinearExprBuilder latency) {
    List<StageAssignment> plan(CpSolver solver) {
      List<StageAssignment> stages = new ArrayList<>();
      int first = 0;
      int current = device(solver, 0);
      for (int l = 1; l <= x.length; l++) {
        int d = l < x.length ? device(solver, l) : -1;
        if (d != current) {
          stages.add(new StageAssignment(current, first, l - 1));
          first = l;
          current = d;
        }
      }
      return stages;
    }

    private int device(CpSolver solver, int layer) {
      for (int d = 0; d < x[layer].length; d++) {
        if (solver.booleanValue(x[layer][d])) {
          return d;
        }
      }
      throw new IllegalStateException("layer " + layer + " has no device in the CP-SAT solution");
    }
  }

  private static Built build(PipelineCost cost, double unit, double upperBound) {
    Instance instance = cost.instance();
    int layers = cost.layerCount();
    int devices = cost.deviceCount();
    // a term above the upper bound (plus rounding slack) can never be part of an optimal plan
    double limit = upperBound * (1 + 1e-6) + (layers + 2) * unit;
    CpModel model = new CpModel();
    BoolVar[][] x = new BoolVar[layers][devices];
    for (int l = 0; l < layers; l++) {
      for (int d = 0; d < devices; d++) {
        x[l][d] = model.newBoolVar("x" + l + "_" + d);
      }
      model.addExactlyOne(x[l]);
    }
    long horizon = Math.max(1, Math.min(Long.MAX_VALUE / 4, whole(limit, unit, 4_000_000_000_000L)));
    IntVar bottleneck = model.newIntVar(0, horizon, "bottleneck");
    LinearExprBuilder latency = LinearExpr.newBuilder();
    long maxWork = instance.layers().stream().mapToLong(Layer::workBytes).max().orElse(0);
    for (int d = 0; d < devices; d++) {
      LinearExprBuilder starts = LinearExpr.newBuilder();
      for (int l = 0; l < layers; l++) {
        BoolVar start = model.newBoolVar("s" + l + "_" + d);
        if (l == 0) {
          model.addEquality(start, x[0][d]);
        } else {
          model.addGreaterOrEqual(
              LinearExpr.weightedSum(new BoolVar[] {start, x[l][d], x[l - 1][d]}, new long[] {1, -1, 1}), 0);
        }
        starts.add(start);
      }
      model.addLessOrEqual(starts, 1);
      LinearExprBuilder compute = LinearExpr.newBuilder();
      LinearExprBuilder params = LinearExpr.newBuilder();
      IntVar work = model.newIntVar(0, maxWork, "work" + d);
      for (int l = 0; l < layers; l++) {
        Layer layer = instance.layers().get(l);
        compute.addTerm(x[l][d], whole(layer.time()[d], unit, horizon));
        params.addTerm(x[l][d], layer.paramBytes());
        model.addLessOrEqual(LinearExpr.term(x[l][d], layer.workBytes()), work);
      }
      params.add(work);
      model.addLessOrEqual(params, instance.devices().get(d).memoryBytes());
      model.addLessOrEqual(compute, bottleneck);
      latency.add(compute);
    }
    if (instance.source() != null) {
      for (int d = 0; d < devices; d++) {
        double seconds = cost.inputTransfer(d);
        if (seconds > limit) {
          model.addEquality(x[0][d], 0);
        } else if (seconds > 0) {
          long t = whole(seconds, unit, horizon);
          model.addLessOrEqual(LinearExpr.term(x[0][d], t), bottleneck);
          latency.addTerm(x[0][d], t);
        }
      }
    }
    for (int l = 0; l + 1 < layers; l++) {
      BoolVar[] end = new BoolVar[devices];
      BoolVar[] begin = new BoolVar[devices];
      for (int d = 0; d < devices; d++) {
        end[d] = model.newBoolVar("e" + l + "_" + d);
        begin[d] = model.newBoolVar("b" + l + "_" + d);
        // end >= x[l][d] - x[l+1][d]; begin >= x[l+1][d] - x[l][d]; both only ever penalise
        model.addGreaterOrEqual(
            LinearExpr.weightedSum(new BoolVar[] {end[d], x[l][d], x[l + 1][d]}, new long[] {1, -1, 1}), 0);
        model.addGreaterOrEqual(
            LinearExpr.weightedSum(new BoolVar[] {begin[d], x[l + 1][d], x[l][d]}, new long[] {1, -1, 1}), 0);
      }
      IntVar transfer = model.newIntVar(0, horizon, "t" + l);
      for (int a = 0; a < devices; a++) {
        for (int b = 0; b < devices; b++) {
          if (a == b) {
            continue;
          }
          double seconds = cost.cutTransfer(l, a, b);
          if (seconds > limit) {
            model.addBoolOr(new Literal[] {end[a].not(), begin[b].not()});
            continue;
          }
          long t = whole(seconds, unit, horizon);
          // transfer >= t * (end[a] + begin[b] - 1)
          model.addGreaterOrEqual(
              LinearExpr.weightedSum(new IntVar[] {transfer, end[a], begin[b]}, new long[] {1, -t, -t}), -t);
        }
      }
      model.addLessOrEqual(transfer, bottleneck);
      latency.add(transfer);
    }
    return new Built(model, x, bottleneck, latency);
  }

  private static long whole(double seconds, double unit, long cap) {
    return Math.min(cap, Math.round(seconds / unit));
  }
}
