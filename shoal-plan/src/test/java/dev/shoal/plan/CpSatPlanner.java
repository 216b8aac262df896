package dev.shoal.plan;

import com.google.ortools.Loader;
import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import com.google.ortools.sat.Literal;

/**
 * An independent model of the pinned cost model in OR-Tools CP-SAT, for instances whose costs are
 * whole numbers (see {@link TestInstances#integral}): x[l][d] places layer l on device d; each
 * device's layers are contiguous (at most one start); a transfer term is active when consecutive
 * layers sit on different devices. First the bottleneck is minimised, then, with it fixed, the
 * latency.
 */
final class CpSatPlanner {

  /** Optimal bottleneck and latency, or null when CP-SAT proves there is no plan. */
  record Optimum(long bottleneck, long latency) {}

  static {
    Loader.loadNativeLibraries();
  }

  private CpSatPlanner() {}

  static Optimum solve(Instance instance) {
    Long bottleneck = optimise(instance, null);
    if (bottleneck == null) {
      return null;
    }
    return new Optimum(bottleneck, optimise(instance, bottleneck));
  }

  /** With {@code fixedBottleneck} null: the least bottleneck; otherwise the least latency under it. */
  private static Long optimise(Instance instance, Long fixedBottleneck) {
    int layers = instance.layers().size();
    int devices = instance.devices().size();
    CpModel model = new CpModel();
    BoolVar[][] x = new BoolVar[layers][devices];
    for (int l = 0; l < layers; l++) {
      for (int d = 0; d < devices; d++) {
        x[l][d] = model.newBoolVar("x" + l + "_" + d);
      }
      model.addExactlyOne(x[l]);
    }
    long horizon = 1;
    for (Layer layer : instance.layers()) {
      for (double t : layer.time()) {
        horizon += whole(t);
      }
    }
    horizon += 1000;
    IntVar bottleneck = model.newIntVar(0, horizon, "bottleneck");
    LinearExprBuilder latency = LinearExpr.newBuilder();
    for (int d = 0; d < devices; d++) {
      // contiguity: at most one layer where device d starts a run
      LinearExprBuilder starts = LinearExpr.newBuilder();
      for (int l = 0; l < layers; l++) {
        BoolVar start = model.newBoolVar("s" + l + "_" + d);
        if (l == 0) {
          model.addEquality(start, x[0][d]);
        } else {
          model.addGreaterOrEqual(LinearExpr.weightedSum(new BoolVar[] {start, x[l][d], x[l - 1][d]}, new long[] {1, -1, 1}), 0);
        }
        starts.add(start);
      }
      model.addLessOrEqual(starts, 1);
      LinearExprBuilder compute = LinearExpr.newBuilder();
      LinearExprBuilder params = LinearExpr.newBuilder();
      IntVar work = model.newIntVar(0, instance.layers().stream().mapToLong(Layer::workBytes).max().orElse(0), "work" + d);
      for (int l = 0; l < layers; l++) {
        Layer layer = instance.layers().get(l);
        compute.addTerm(x[l][d], whole(layer.time()[d]));
        params.addTerm(x[l][d], layer.paramBytes());
        model.addLessOrEqual(LinearExpr.term(x[l][d], layer.workBytes()), work);
      }
      params.add(work);
      model.addLessOrEqual(params, instance.devices().get(d).memoryBytes());
      model.addLessOrEqual(compute, bottleneck);
      latency.add(compute);
    }
    Integer source = instance.source();
    if (source != null) {
      for (int d = 0; d < devices; d++) {
        if (d == source) {
          continue;
        }
        double seconds = new PipelineCost(instance).inputTransfer(d);
        if (Double.isInfinite(seconds)) {
          model.addEquality(x[0][d], 0);
        } else {
          model.addLessOrEqual(LinearExpr.term(x[0][d], whole(seconds)), bottleneck);
          latency.addTerm(x[0][d], whole(seconds));
        }
      }
    }
    PipelineCost cost = new PipelineCost(instance);
    for (int l = 0; l + 1 < layers; l++) {
      for (int a = 0; a < devices; a++) {
        for (int b = 0; b < devices; b++) {
          if (a == b) {
            continue;
          }
          double seconds = cost.cutTransfer(l, a, b);
          if (Double.isInfinite(seconds)) {
            model.addBoolOr(new Literal[] {x[l][a].not(), x[l + 1][b].not()});
            continue;
          }
          BoolVar cut = model.newBoolVar("c" + l + "_" + a + "_" + b);
          model.addBoolOr(new Literal[] {x[l][a].not(), x[l + 1][b].not(), cut});
          model.addLessOrEqual(LinearExpr.term(cut, whole(seconds)), bottleneck);
          latency.addTerm(cut, whole(seconds));
        }
      }
    }
    if (fixedBottleneck == null) {
      model.minimize(bottleneck);
    } else {
      model.addLessOrEqual(bottleneck, fixedBottleneck);
      model.minimize(latency);
    }
    CpSolver solver = new CpSolver();
    solver.getParameters().setNumWorkers(1).setMaxTimeInSeconds(60);
    CpSolverStatus status = solver.solve(model);
    if (status == CpSolverStatus.INFEASIBLE) {
      return null;
    }
    if (status != CpSolverStatus.OPTIMAL) {
      throw new IllegalStateException("CP-SAT did not prove optimality: " + status);
    }
    return Math.round(solver.objectiveValue());
  }

  private static long whole(double seconds) {
    long value = Math.round(seconds);
    if (value != seconds) {
      throw new IllegalArgumentException("cost " + seconds + " is not a whole number");
    }
    return value;
  }
}
