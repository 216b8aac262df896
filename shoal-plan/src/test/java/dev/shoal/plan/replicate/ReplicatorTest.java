package dev.shoal.plan.replicate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.RandomInstances;
import dev.shoal.plan.solve.ExactSolver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplicatorTest {

  /** Two layers, the second 3 s on every device; four identical devices on 1000 B/s links. */
  private static Instance heavySecondLayer() {
    List<Layer> layers =
        List.of(
            new Layer("light", new double[] {1, 1, 1, 1}, 10, 0, 1000),
            new Layer("heavy", new double[] {3, 3, 3, 3}, 10, 0, 0));
    List<DeviceSpec> devices = new ArrayList<>();
    double[][] bandwidth = new double[4][4];
    for (int d = 0; d < 4; d++) {
      devices.add(new DeviceSpec("d" + d, 10)); // one layer per device
      for (int e = 0; e < 4; e++) {
        bandwidth[d][e] = d == e ? 0 : 1000;
      }
    }
    return new Instance(layers, 0, devices, bandwidth, new double[4][4], null);
  }

  @Test
  void replicasDivideTheBottleneckStage() {
    Instance instance = heavySecondLayer();
    PipelineCost cost = new PipelineCost(instance);
    PipelinePlan exact = new ExactSolver().solve(instance);
    assertThat(exact.bottleneck()).isEqualTo(3.0);
    ReplicatedPlan replicated = Replicator.replicate(cost, exact);
    // the heavy stage on the three devices left: 3 s / 3; its input links each carry a third of 1 s
    assertThat(replicated.stages().get(1).devices()).hasSize(3);
    assertThat(replicated.period(cost)).isEqualTo(1.0); // now the light stage (1 s) is the bottleneck
  }

  @Test
  void singleDevicePlansHaveTheCostModelsBottleneckAndReplicasNeverHurt() {
    for (long seed = 0; seed < 12; seed++) {
      Instance instance = RandomInstances.generate(20, 10, 300 + seed);
      PipelineCost cost = new PipelineCost(instance);
      PipelinePlan exact;
      try {
        exact = new ExactSolver().solve(instance);
      } catch (InfeasibleInstanceException e) {
        continue;
      }
      assertThat(ReplicatedPlan.of(exact).period(cost)).isEqualTo(exact.bottleneck());
      ReplicatedPlan replicated = Replicator.replicate(cost, exact);
      assertThat(replicated.period(cost)).isLessThanOrEqualTo(exact.bottleneck());
      Set<Integer> devices = new HashSet<>();
      for (ReplicatedPlan.Stage stage : replicated.stages()) {
        for (int d : stage.devices()) {
          assertThat(devices.add(d)).as("device %d used twice", d).isTrue();
          assertThat(cost.stageMemory(stage.first(), stage.last()))
              .isLessThanOrEqualTo(instance.devices().get(d).memoryBytes());
        }
      }
    }
  }

  @Test
  void roundRobinBetweenReplicaSetsUsesTheLeastCommonMultiple() {
    assertThat(ReplicatedPlan.lcm(2, 3)).isEqualTo(6);
    assertThat(ReplicatedPlan.lcm(4, 6)).isEqualTo(12);
    assertThat(ReplicatedPlan.lcm(1, 5)).isEqualTo(5);
  }
}
