package dev.shoal.bench.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.RandomInstances;
import dev.shoal.plan.solve.ExactSolver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The exact solver against the independent CP-SAT model of the same cost model. */
class CpSatCrossCheckTest {

  private static final CpSatPlanner CP_SAT = new CpSatPlanner(60);

  /** Whole-number costs: CP-SAT's integer model sees exactly our figures, so both must agree to the bit. */
  @Test
  void exactMatchesCpSatOnWholeNumberCosts() {
    int feasible = 0;
    for (long seed = 0; seed < 16; seed++) {
      int layers = 8 + (int) (seed % 8);
      int devices = 2 + (int) (seed % 4);
      Instance instance = integral(layers, devices, seed);
      CpSatPlanner.Result result = CP_SAT.solve(instance, Double.POSITIVE_INFINITY);
      if (result.bottleneckStatus() == CpSatPlanner.Status.INFEASIBLE) {
        assertThatThrownBy(() -> new ExactSolver().solve(instance)).isInstanceOf(InfeasibleInstanceException.class);
        continue;
      }
      assertThat(result.bottleneckStatus()).isEqualTo(CpSatPlanner.Status.OPTIMAL);
      assertThat(result.latencyStatus()).isEqualTo(CpSatPlanner.Status.OPTIMAL);
      PipelineCost.Evaluation cpSat = new PipelineCost(instance).evaluate(result.stages());
      PipelinePlan plan = new ExactSolver().solve(instance);
      assertThat(plan.bottleneck()).as("seed %d bottleneck", seed).isEqualTo(cpSat.bottleneck());
      assertThat(plan.latency()).as("seed %d latency", seed).isEqualTo(cpSat.latency());
      feasible++;
    }
    assertThat(feasible).isGreaterThanOrEqualTo(10);
  }

  /** Real-valued costs: CP-SAT rounds each term to a millionth of the bound, so they agree within that. */
  @Test
  void exactMatchesCpSatOnRandomInstances() {
    int compared = 0;
    for (long seed = 1; seed <= 6; seed++) {
      Instance instance = RandomInstances.generate(12, 2 + (int) (seed % 3), 900 + seed);
      PipelinePlan plan;
      try {
        plan = new ExactSolver().solve(instance);
      } catch (InfeasibleInstanceException e) {
        assertThat(CP_SAT.solve(instance, Double.POSITIVE_INFINITY).bottleneckStatus())
            .isEqualTo(CpSatPlanner.Status.INFEASIBLE);
        continue;
      }
      CpSatPlanner.Result result = CP_SAT.solve(instance, Double.POSITIVE_INFINITY);
      assertThat(result.bottleneckStatus()).isEqualTo(CpSatPlanner.Status.OPTIMAL);
      double found = new PipelineCost(instance).evaluate(result.stages()).bottleneck();
      double slack = (instance.layers().size() + 2) * result.unit();
      assertThat(found).as("seed %d", seed).isBetween(plan.bottleneck() - 1e-12, plan.bottleneck() + slack);
      compared++;
    }
    assertThat(compared).isGreaterThanOrEqualTo(4);
  }

  /** Times and transfers in whole seconds, some links missing, memories that force splits. */
  private static Instance integral(int layers, int devices, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Layer> list = new ArrayList<>();
    long params = 0;
    for (int l = 0; l < layers; l++) {
      double[] time = new double[devices];
      for (int d = 0; d < devices; d++) {
        time[d] = 1 + random.nextInt(9);
      }
      long param = 1 + random.nextInt(20);
      params += param;
      list.add(new Layer("l" + l, time, param, random.nextInt(5), 2000L * random.nextInt(6)));
    }
    List<DeviceSpec> specs = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      specs.add(new DeviceSpec("d" + d, params / 2 + random.nextInt((int) params)));
    }
    double[][] bandwidth = new double[devices][devices];
    double[][] latency = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = 0; b < devices; b++) {
        if (a != b) {
          bandwidth[a][b] = random.nextInt(6) == 0 ? 0 : 1000 * (1 + random.nextInt(2));
          latency[a][b] = random.nextInt(2);
        }
      }
    }
    return new Instance(list, 4000, specs, bandwidth, latency, random.nextInt(devices));
  }
}
