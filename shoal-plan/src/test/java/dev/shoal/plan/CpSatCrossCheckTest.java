package dev.shoal.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.solve.ExactSolver;
import org.junit.jupiter.api.Test;

/** The exact solver against an independent CP-SAT model, on instances with whole-number costs. */
class CpSatCrossCheckTest {

  @Test
  void exactMatchesCpSatOptimum() {
    int feasible = 0;
    for (long seed = 0; seed < 16; seed++) {
      int layers = 8 + (int) (seed % 8);
      int devices = 2 + (int) (seed % 4);
      Instance instance = TestInstances.integral(layers, devices, seed);
      CpSatPlanner.Optimum optimum = CpSatPlanner.solve(instance);
      if (optimum == null) {
        assertThatThrownBy(() -> new ExactSolver().solve(instance)).isInstanceOf(InfeasibleInstanceException.class);
        continue;
      }
      PipelinePlan plan = new ExactSolver().solve(instance);
      assertThat(plan.bottleneck()).as("seed %d bottleneck", seed).isEqualTo((double) optimum.bottleneck());
      assertThat(plan.latency()).as("seed %d latency", seed).isEqualTo((double) optimum.latency());
      feasible++;
    }
    assertThat(feasible).isGreaterThanOrEqualTo(10);
  }
}
