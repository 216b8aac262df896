package dev.shoal.bench.availability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class PinnedPlannerTest {

  private static final String A = "a";
  private static final String B = "b";
  private static final String C = "c";

  private static byte[] identity() {
    GraphBuilder g = new GraphBuilder("id");
    g.node("Identity", g.input("x", DType.FLOAT, GraphBuilder.BATCH, 2)).outputs("y").out();
    g.output("y", DType.FLOAT, GraphBuilder.BATCH, 2);
    return g.build().toByteArray();
  }

  @Test
  void keepsTheFirstPlanAndHasNoneOnceOneOfItsWorkersIsDown() {
    PinnedPlanner planner = new PinnedPlanner(
        FixedPlacement.chain("m", List.of(identity(), identity()), List.of(A, B, C), "raw", new double[2]));
    PlanBundle first = planner.plan(List.of(A, B, C));
    assertThat(first.plan().stages()).extracting(s -> s.devices().get(0)).containsExactly("a", "b");

    // a spare going away does not matter; the plan is the same object, not a re-plan
    assertThat(planner.plan(List.of(A, B))).isSameAs(first);
    // the re-planning planner would move the stages onto b and c; the pinned one refuses
    assertThatThrownBy(() -> planner.plan(List.of(B, C)))
        .isInstanceOf(InfeasibleInstanceException.class)
        .hasMessageContaining("worker a of the plan is down");
    // the worker is back: the same plan again
    assertThat(planner.plan(List.of(A, B, C))).isSameAs(first);
  }
}
