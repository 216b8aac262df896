package dev.shoal.train.train;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.Shape;
import dev.shoal.train.SampleData;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.models.DemoCnn;
import dev.shoal.train.recipes.FashionData;
import java.io.IOException;
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
  void aDivergingRunStopsWithTheStepWhereTheLossBecameNaN() throws IOException {
    FashionData data = SampleData.load();
    // a learning rate whose first update overflows the weights (batch norm keeps a merely huge
    // learning rate's loss finite), so the next forward pass computes inf - inf
    TrainConfig absurd = new TrainConfig(1, 32, 1e37f, 0.9f, 0f, 0f, Augmentation.NONE, 1);
    try (TrainingSession session =
        new TrainingSession(DemoCnn.build(10), new Objective.Single(), absurd, new Shape(1, 28, 28), 300)) {
      assertThatThrownBy(() -> session.fit(data.train(), Optional.empty(), r -> {}))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("training diverged")
          .hasMessageContaining("epoch 1, step")
          .hasMessageContaining("lower learning rate");
    }
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
}
