package dev.shoal.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PipelineCostTest {

  /** Two devices, three layers; every figure below is worked out by hand from DESIGN.md's rules. */
  private static Instance handMade(Integer source) {
    List<Layer> layers =
        List.of(
            new Layer("a", new double[] {1.0, 2.0}, 100, 50, 1000),
            new Layer("b", new double[] {3.0, 1.0}, 200, 80, 4000),
            new Layer("c", new double[] {0.5, 0.25}, 300, 20, 10));
    List<DeviceSpec> devices = List.of(new DeviceSpec("x", 400), new DeviceSpec("y", 700));
    double[][] bandwidth = {{0, 1000}, {2000, 0}};
    double[][] latency = {{0, 0.5}, {0.25, 0}};
    return new Instance(layers, 3000, devices, bandwidth, latency, source);
  }

  @Test
  void figuresFollowTheCostModel() {
    PipelineCost cost = new PipelineCost(handMade(1));
    List<StageAssignment> plan = List.of(new StageAssignment(0, 0, 0), new StageAssignment(1, 1, 2));
    PipelineCost.Evaluation evaluation = cost.evaluate(plan);
    // input y -> x: 3000 / 2000 + 0.25 = 1.75; compute x: 1.0; cut a x -> y: 1000/1000 + 0.5 = 1.5;
    // compute y: 1.0 + 0.25 = 1.25
    assertThat(evaluation.terms()).extracting(PipelineCost.Term::seconds).containsExactly(1.75, 1.0, 1.5, 1.25);
    assertThat(evaluation.bottleneck()).isEqualTo(1.75);
    assertThat(evaluation.bottleneckTerm().kind()).isEqualTo(PipelineCost.Term.Kind.INPUT);
    assertThat(evaluation.latency()).isEqualTo(5.5);
    // memory of stage y: params 200 + 300, largest working set 80
    assertThat(cost.stageMemory(1, 2)).isEqualTo(580);
    assertThat(cost.stageMemory(0, 2)).isEqualTo(680);
    assertThat(cost.problems(plan)).isEmpty();
  }

  @Test
  void inputOnTheSourceIsFreeAndNoSourceMeansNoInputTerm() {
    List<StageAssignment> plan = List.of(new StageAssignment(1, 0, 2));
    assertThat(new PipelineCost(handMade(1)).evaluate(plan).terms()).hasSize(2);
    assertThat(new PipelineCost(handMade(1)).inputTransfer(1)).isZero();
    assertThat(new PipelineCost(handMade(null)).evaluate(plan).terms()).hasSize(1);
  }

  @Test
  void invalidPlansAreNamed() {
    PipelineCost cost = new PipelineCost(handMade(null));
    assertThat(cost.problems(List.of(new StageAssignment(0, 0, 2))))
        .singleElement().asString().contains("needs 680 B but device 0 has 400 B");
    assertThat(cost.problems(List.of(new StageAssignment(1, 0, 0), new StageAssignment(1, 1, 2))))
        .anyMatch(p -> p.contains("already holds a stage"));
    assertThat(cost.problems(List.of(new StageAssignment(1, 0, 1)))).anyMatch(p -> p.contains("not placed"));
    assertThatThrownBy(() -> cost.evaluate(List.of(new StageAssignment(0, 0, 2))))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void zeroBandwidthIsNoLink() {
    Instance base = handMade(null);
    Instance cut = new Instance(base.layers(), 0, base.devices(), new double[][] {{0, 0}, {2000, 0}}, base.latency(), null);
    PipelineCost cost = new PipelineCost(cut);
    assertThat(cost.cutTransfer(0, 0, 1)).isInfinite();
    assertThat(cost.problems(List.of(new StageAssignment(0, 0, 0), new StageAssignment(1, 1, 2))))
        .anyMatch(p -> p.contains("no link from device 0 to 1"));
  }

  @Test
  void malformedInstancesAreRejectedWithTheField() {
    Instance base = handMade(null);
    assertThatThrownBy(() -> new PipelineCost(new Instance(base.layers(), 0, base.devices(), new double[][] {{0}}, base.latency(), null)))
        .hasMessageContaining("bandwidth must be a 2x2 matrix");
    List<Layer> bad = List.of(new Layer("a", new double[] {1.0}, 1, 1, 1));
    assertThatThrownBy(() -> new PipelineCost(new Instance(bad, 0, base.devices(), base.bandwidth(), base.latency(), null)))
        .hasMessageContaining("layers[0] (a): time has 1 entries for 2 devices");
    assertThatThrownBy(() -> new PipelineCost(new Instance(base.layers(), 0, base.devices(), base.bandwidth(), base.latency(), 5)))
        .hasMessageContaining("source 5 out of range");
  }
}
