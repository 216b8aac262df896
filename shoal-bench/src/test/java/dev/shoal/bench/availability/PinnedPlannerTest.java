package dev.shoal.bench.availability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import java.util.List;
import org.junit.jupiter.api.Test;

class PinnedPlannerTest {

  private static final WorkerEndpoint A = new WorkerEndpoint("a", "127.0.0.1:1");
  private static final WorkerEndpoint B = new WorkerEndpoint("b", "127.0.0.1:2");
  private static final WorkerEndpoint C = new WorkerEndpoint("c", "127.0.0.1:3");

  @Test
  void keepsTheFirstPlanAndHasNoneOnceOneOfItsWorkersIsDown() {
    PinnedPlanner planner = new PinnedPlanner(
        new FixedStagePlanner(List.of(new byte[] {1}, new byte[] {2}), TensorCodec.parse("raw")));
    PlannedPipeline first = planner.plan(List.of(A, B, C));
    assertThat(first.stages()).extracting(s -> s.worker().name()).containsExactly("a", "b");

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
