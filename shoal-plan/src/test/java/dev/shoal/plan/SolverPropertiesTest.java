package dev.shoal.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.solve.ExactSolver;
import dev.shoal.plan.solve.GreedySolver;
import dev.shoal.plan.solve.HeuristicSolver;
import dev.shoal.plan.solve.RandomSolver;
import java.util.List;
import org.junit.jupiter.api.Test;

class SolverPropertiesTest {

  private static final ExactSolver EXACT = new ExactSolver();

  /** Checks a returned plan is valid and that its figures are the cost model's for its stages. */
  private static void assertConsistent(Instance instance, PipelinePlan plan) {
    PipelineCost cost = new PipelineCost(instance);
    assertThat(cost.problems(plan.stages())).isEmpty();
    PipelineCost.Evaluation evaluation = cost.evaluate(plan.stages());
    assertThat(plan.bottleneck()).isEqualTo(evaluation.bottleneck());
    assertThat(plan.latency()).isEqualTo(evaluation.latency());
  }

  @Test
  void exactEqualsBruteForceOnSmallInstances() {
    int compared = 0;
    int infeasible = 0;
    for (long seed = 0; seed < 120; seed++) {
      int layers = 3 + (int) (seed % 6);
      int devices = 1 + (int) (seed % 4);
      Instance instance = TestInstances.awkward(layers, devices, seed);
      PipelineCost.Evaluation brute = BruteForce.best(instance);
      if (brute == null) {
        assertThatThrownBy(() -> EXACT.solve(instance)).isInstanceOf(InfeasibleInstanceException.class);
        infeasible++;
        continue;
      }
      PipelinePlan plan = EXACT.solve(instance);
      assertConsistent(instance, plan);
      assertThat(plan.bottleneck()).as("seed %d bottleneck", seed).isEqualTo(brute.bottleneck());
      assertThat(plan.latency()).as("seed %d latency", seed).isCloseTo(brute.latency(), org.assertj.core.data.Percentage.withPercentage(1e-9));
      compared++;
    }
    assertThat(compared).isGreaterThan(60);
    assertThat(infeasible).isGreaterThan(0);
  }

  @Test
  void exactIsNoWorseThanAnyOtherSolverAndEveryPlanRecomputes() {
    for (long seed = 0; seed < 30; seed++) {
      int layers = 10 + (int) (seed * 7 % 31);
      int devices = 2 + (int) (seed % 7);
      Instance instance = RandomInstances.generate(layers, devices, 500 + seed);
      PipelinePlan exact;
      try {
        exact = EXACT.solve(instance);
      } catch (InfeasibleInstanceException e) {
        // exact proves there is no plan: then no solver may return one
        for (PipelineSolver other : List.of(new HeuristicSolver(), new GreedySolver(), new RandomSolver(seed))) {
          assertThatThrownBy(() -> other.solve(instance)).isInstanceOf(InfeasibleInstanceException.class);
        }
        continue;
      }
      assertConsistent(instance, exact);
      for (PipelineSolver other : List.of(new HeuristicSolver(), new GreedySolver(), new RandomSolver(seed))) {
        PipelinePlan plan;
        try {
          plan = other.solve(instance);
        } catch (InfeasibleInstanceException e) {
          assertThat(other.name()).as("only the baselines may miss a plan").isIn("greedy", "random");
          continue;
        }
        assertConsistent(instance, plan);
        assertThat(exact.bottleneck()).as("%s on seed %d", other.name(), seed).isLessThanOrEqualTo(plan.bottleneck());
        if (exact.bottleneck() == plan.bottleneck()) {
          assertThat(exact.latency()).isLessThanOrEqualTo(plan.latency() * (1 + 1e-12));
        }
      }
    }
  }

  @Test
  void heuristicPlansClustersBeyondTheExactSolversReach() {
    Instance instance = RandomInstances.generate(30, 80, 77);
    assertThatThrownBy(() -> EXACT.solve(instance)).hasMessageContaining("at most 64 devices");
    PipelinePlan plan = new HeuristicSolver().solve(instance);
    assertConsistent(instance, plan);
    // a regression check on this instance: the bench shows the heuristic far below greedy at this size
    assertThat(plan.bottleneck()).isLessThanOrEqualTo(new GreedySolver().solve(instance).bottleneck());
  }

  @Test
  void randomIsReproducibleFromItsSeed() {
    Instance instance = RandomInstances.generate(20, 5, 3);
    assertThat(new RandomSolver(9).solve(instance).stages()).isEqualTo(new RandomSolver(9).solve(instance).stages());
  }

  @Test
  void infeasibleInstancesSayWhy() {
    Instance base = RandomInstances.generate(6, 3, 11);
    List<DeviceSpec> tiny = base.devices().stream().map(d -> new DeviceSpec(d.name(), 1000)).toList();
    Instance noMemory = new Instance(base.layers(), base.inputBytes(), tiny, base.bandwidth(), base.latency(), base.source());
    assertThatThrownBy(() -> EXACT.solve(noMemory))
        .isInstanceOf(InfeasibleInstanceException.class)
        .hasMessageContaining("layer 0 (layer0) needs")
        .hasMessageContaining("the largest device has 1000 B");

    // every device holds only half the model and no link exists: no chain at all
    long largestLayer = base.layers().stream().mapToLong(l -> l.paramBytes() + l.workBytes()).max().orElseThrow();
    long half = Math.max(largestLayer, base.layers().stream().mapToLong(Layer::paramBytes).sum() / 2);
    List<DeviceSpec> small = base.devices().stream().map(d -> new DeviceSpec(d.name(), half)).toList();
    Instance disconnected = new Instance(base.layers(), base.inputBytes(), small, new double[3][3], base.latency(), null);
    assertThatThrownBy(() -> EXACT.solve(disconnected))
        .isInstanceOf(InfeasibleInstanceException.class)
        .hasMessageContaining("no chain of distinct devices");
    assertThatThrownBy(() -> new HeuristicSolver().solve(disconnected)).isInstanceOf(InfeasibleInstanceException.class);
    assertThatThrownBy(() -> new RandomSolver(1).solve(disconnected)).isInstanceOf(InfeasibleInstanceException.class);

    Instance sourceCut = new Instance(base.layers(), base.inputBytes(), small, new double[3][3], base.latency(), 0);
    assertThatThrownBy(() -> EXACT.solve(sourceCut)).isInstanceOf(InfeasibleInstanceException.class);
  }
}
