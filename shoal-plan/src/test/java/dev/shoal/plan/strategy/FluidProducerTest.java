package dev.shoal.plan.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.MergeRule;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.Stage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The plans of the committed Fluid G = 3 network: high-accuracy on every live prefix of devices,
 * the survivors' sub-networks alone otherwise; high-throughput routes over the live sub-networks;
 * each answer names its mode and sub-networks.
 */
class FluidProducerTest {

  private static final Path G3 = Path.of("../models/fashion/fluid/g3");
  private static final List<String> DEVICES = List.of("a", "b", "c", "spare");

  @Test
  void highAccuracyUsesTheLongestLivePrefixThenTheSurvivorsAlone() throws Exception {
    FluidProducer ha = new FluidProducer(G3, FluidProducer.HIGH_ACCURACY, DEVICES, Map.of());

    Plan all = ha.plan(DEVICES).plan();
    assertThat(all.stages()).extracting(Stage::id).containsExactly("stage1-features", "stage2-features",
        "stage3-combined");
    assertThat(all.stages()).allSatisfy(s -> assertThat(s.optional()).isFalse());
    assertThat(all.stages()).extracting(s -> s.devices().get(0)).containsExactly("a", "b", "c");
    assertThat(all.edges()).extracting(e -> e.from() + "->" + e.to()).contains(
        "stage1-features/trunk1->stage2-features/trunk1", "stage1-features/trunk1->stage3-combined/trunk1",
        "stage2-features/trunk2->stage3-combined/trunk2", "stage3-combined/logits->response/logits");
    assertThat(ha.answerParameters(all, Set.of("stage3-combined")))
        .containsEntry(FluidProducer.PARAM_MODE, "high-accuracy").containsEntry(FluidProducer.PARAM_SUBNETS, "1,2,3");

    Plan withoutC = ha.plan(List.of("a", "b", "spare")).plan();
    // device 1's stage of the smaller mode: the full mode has its own copy of group 1's last conv
    assertThat(withoutC.stages()).extracting(Stage::id).containsExactly("stage1-features-1to2", "stage2-combined");
    assertThat(withoutC.edges()).extracting(e -> e.from() + "->" + e.to()).contains(
        "stage1-features-1to2/trunk1->stage2-combined/trunk1", "stage1-features-1to2/features1->stage2-combined/features1");
    assertThat(ha.answerParameters(withoutC, Set.of("stage2-combined")))
        .containsEntry(FluidProducer.PARAM_SUBNETS, "1,2");

    Plan withoutB = ha.plan(List.of("a", "c")).plan();
    assertThat(withoutB.stages()).extracting(Stage::id).containsExactly("sub1", "sub3");
    assertThat(withoutB.merges()).singleElement().satisfies(m -> assertThat(m.rule()).isInstanceOf(MergeRule.Routed.class));
    assertThat(ha.answerParameters(withoutB, Set.of("sub3"))).containsEntry(FluidProducer.PARAM_SUBNETS, "3");

    assertThatThrownBy(() -> ha.plan(List.of("spare"))).isInstanceOf(InfeasibleInstanceException.class)
        .hasMessageContaining("none of the Fluid network's devices");
  }

  @Test
  void highThroughputRoutesOverTheLiveSubNetworks() throws Exception {
    FluidProducer ht = new FluidProducer(G3, FluidProducer.HIGH_THROUGHPUT, DEVICES, Map.of("sub2.onnx", 0.002));
    Plan all = ht.plan(DEVICES).plan();
    assertThat(all.stages()).extracting(Stage::id).containsExactly("sub1", "sub2", "sub3");
    assertThat(all.stages()).allSatisfy(s -> assertThat(s.optional()).isTrue());
    assertThat(all.stage("sub2").orElseThrow().referenceSeconds()).isEqualTo(0.002);
    assertThat(all.edges()).extracting(Edge::from).allSatisfy(p -> assertThat(p.node()).isEqualTo(Plan.REQUEST));
    assertThat(all.outputs()).isEqualTo(new FluidProducer(G3, FluidProducer.HIGH_ACCURACY, DEVICES, Map.of())
        .plan(DEVICES).plan().outputs());
    assertThat(ht.plan(List.of("b")).plan().stages()).extracting(Stage::id).containsExactly("sub2");
    assertThat(ht.answerParameters(all, Set.of("sub1"))).containsEntry(FluidProducer.PARAM_MODE, "high-throughput")
        .containsEntry(FluidProducer.PARAM_SUBNETS, "1");
  }

  @Test
  void tooFewDevicesAreRefusedWithTheCounts() {
    assertThatThrownBy(() -> new FluidProducer(G3, FluidProducer.HIGH_ACCURACY, List.of("a", "b"), Map.of()))
        .hasMessageContaining("3 groups need 3 devices, the cluster has 2");
  }
}
