package dev.shoal.train.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import dev.shoal.train.SampleData;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.models.DemoCnn;
import dev.shoal.train.recipes.FashionData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a training run does when it goes wrong. */
class TrainingSessionTest {

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void aRunThatKeepsFailingStopsAsDiverged() throws IOException {
    FashionData data = SampleData.load();
    // A learning rate whose first update overflows the weights (batch norm keeps a merely huge
    // learning rate's loss finite), so the next forward pass computes inf - inf. Every such step
    // goes back to the copy and the next update overflows again: 75 steps of 4 images refuse more
    // than StepGuard.MAX_ROLLBACKS.
    TrainConfig absurd = new TrainConfig(1, 4, 1e37f, 0.9f, 0f, 0f, Augmentation.NONE, 1);
    List<StepGuard.Rollback> rollbacks = new ArrayList<>();
    try (TrainingSession session =
        new TrainingSession(DemoCnn.build(10), new Objective.Single(), absurd, new Shape(1, 28, 28), 300)) {
      assertThatThrownBy(() -> session.fit(data.train(), Optional.empty(), listener(rollbacks)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("training diverged")
          .hasMessageContaining("not finite or blew up " + (StepGuard.MAX_ROLLBACKS + 1) + " times")
          .hasMessageContaining("last at epoch 1, step")
          .hasMessageContaining("lower learning rate than 1.0E37");
    }
    assertThat(rollbacks).hasSize(StepGuard.MAX_ROLLBACKS);
  }

  /**
   * PyTorch here gives a NaN loss now and then that the same step does not give again (a CI run of
   * the variant recipe ended on one). A teacher whose logits for the third batch are NaN makes that
   * step's distillation loss NaN: the step is not taken, the weights go back to the copy taken
   * before the first step, and training goes on to a finite loss.
   */
  @Test
  void aStepWithANanLossIsRolledBackAndTrainingGoesOn() throws IOException {
    FashionData data = SampleData.load();
    TrainConfig config = TrainConfig.standard(2, 3).withBatchSize(50);
    var distilling = new Objective.VariantJoint(new float[] {1f}, 1f, new Objective.Distillation(0.5f, 4f));
    List<StepGuard.Rollback> rollbacks = new ArrayList<>();
    List<float[]> atStart;
    List<float[]> afterRollback = new ArrayList<>();
    List<TrainingSession.EpochReport> epochs;
    Block net = DemoCnn.build(10);
    try (TrainingSession session = new TrainingSession(net, distilling, config, new Shape(1, 28, 28), 300);
        Teacher teacher = new NanOnCall(3)) {
      atStart = parameters(net);
      epochs = session.fit(data.train(), Optional.of(teacher), new TrainingSession.Listener() {
        @Override
        public void epoch(TrainingSession.EpochReport report) {}

        @Override
        public void rolledBack(StepGuard.Rollback r) {
          rollbacks.add(r);
          afterRollback.addAll(parameters(net));
        }
      });
    }
    assertThat(rollbacks).hasSize(1);
    StepGuard.Rollback r = rollbacks.get(0);
    assertThat(r.epoch()).isEqualTo(1);
    assertThat(r.step()).isEqualTo(3);
    assertThat(r.toStep()).as("the copy taken before the first step").isZero();
    assertThat(r.loss()).isNaN();
    assertThat(r.reason()).contains("not finite");
    for (int p = 0; p < atStart.size(); p++) {
      assertThat(afterRollback.get(p)).as("parameter %d after the rollback", p).containsExactly(atStart.get(p));
    }
    assertThat(epochs).hasSize(2);
    assertThat(epochs).allSatisfy(e -> assertThat(e.meanLoss()).isFinite());
  }

  @Test
  void aTeacherMustMatchTheObjective() throws IOException {
    FashionData data = SampleData.load();
    TrainConfig config = TrainConfig.standard(1, 1).withBatchSize(50);
    var distilling = new Objective.VariantJoint(new float[] {1f}, 1f, new Objective.Distillation(0.5f, 4f));
    try (TrainingSession session =
        new TrainingSession(DemoCnn.build(10), distilling, config, new Shape(1, 28, 28), 300)) {
      assertThatThrownBy(() -> session.fit(data.train(), Optional.empty(), r -> {}))
          .hasMessageContaining("none was given");
    }
  }

  private static TrainingSession.Listener listener(List<StepGuard.Rollback> rollbacks) {
    return new TrainingSession.Listener() {
      @Override
      public void epoch(TrainingSession.EpochReport report) {}

      @Override
      public void rolledBack(StepGuard.Rollback r) {
        rollbacks.add(r);
      }
    };
  }

  private static List<float[]> parameters(Block net) {
    List<float[]> copy = new ArrayList<>();
    net.getParameters().forEach(p -> copy.add(p.getValue().getArray().toFloatArray()));
    return copy;
  }

  /** A teacher of ten classes whose logits are 0 (uniform), except NaN on its {@code nanCall}-th call. */
  private static final class NanOnCall implements Teacher {
    private final int nanCall;
    private int calls;

    NanOnCall(int nanCall) {
      this.nanCall = nanCall;
    }

    @Override
    public float[] logits(float[] images, int count) {
      float[] logits = new float[count * classes()];
      if (++calls == nanCall) {
        Arrays.fill(logits, Float.NaN);
      }
      return logits;
    }

    @Override
    public int classes() {
      return 10;
    }

    @Override
    public void close() {}
  }
}
