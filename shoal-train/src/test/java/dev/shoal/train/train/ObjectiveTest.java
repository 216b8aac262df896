package dev.shoal.train.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The loss terms of the variant family, checked against sums written out by hand. */
class ObjectiveTest {

  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static final float[][] STUDENT = {{2f, 0.5f, -1f}, {0f, 1f, 3f}};
  private static final float[][] TEACHER = {{1f, 2f, 0f}, {-2f, 0.5f, 2.5f}};

  private static NDArray logits(float[][] rows) {
    float[] flat = new float[rows.length * rows[0].length];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
    }
    return manager.create(flat, new Shape(rows.length, rows[0].length));
  }

  private static double[] softmax(float[] z, double temperature) {
    double[] p = new double[z.length];
    double sum = 0;
    for (int c = 0; c < z.length; c++) {
      p[c] = Math.exp(z[c] / temperature);
      sum += p[c];
    }
    for (int c = 0; c < z.length; c++) {
      p[c] /= sum;
    }
    return p;
  }

  @Test
  void distillationIsTemperatureSquaredTimesTheMeanKlDivergence() {
    double t = 4;
    double expected = 0;
    for (int i = 0; i < STUDENT.length; i++) {
      double[] p = softmax(TEACHER[i], t);
      double[] q = softmax(STUDENT[i], t);
      for (int c = 0; c < p.length; c++) {
        expected += p[c] * Math.log(p[c] / q[c]);
      }
    }
    expected = expected / STUDENT.length * t * t;

    float kd = Losses.distillation(logits(STUDENT), logits(TEACHER), (float) t).getFloat();
    assertThat((double) kd).isCloseTo(expected, offset(1e-5));
    assertThat(Losses.distillation(logits(STUDENT), logits(STUDENT), 4f).getFloat()).isCloseTo(0f, offset(1e-6f));
  }

  @Test
  void variantJointBlendsEachVariantsCrossEntropyWithDistillation() {
    NDArray labels = manager.create(new long[] {0, 2});
    NDList outputs = new NDList(logits(STUDENT), logits(TEACHER));
    float[] weights = {1f, 0.5f};
    var targets = new Objective.Targets(labels, Optional.of(logits(TEACHER)));
    float plain = new Objective.VariantJoint(weights, 1f, Objective.Distillation.NONE)
        .loss(targets, outputs, 0.1f).getFloat();
    var distillation = new Objective.Distillation(0.25f, 2f);
    float blended = new Objective.VariantJoint(weights, 1f, distillation).loss(targets, outputs, 0.1f).getFloat();

    float ce0 = Losses.smoothedCrossEntropy(logits(STUDENT), labels, 0.1f).getFloat();
    float ce1 = Losses.smoothedCrossEntropy(logits(TEACHER), labels, 0.1f).getFloat();
    float kd0 = Losses.distillation(logits(STUDENT), logits(TEACHER), 2f).getFloat();
    // the second variant equals the teacher, so its distillation term is 0
    float expectedChange = 0.25f * (kd0 - ce0) + 0.25f * (0 - ce1);
    assertThat(blended - plain).isCloseTo(expectedChange, offset(1e-5f));
  }

  @Test
  void distillingWithoutTeacherLogitsIsAnError() {
    var objective = new Objective.VariantJoint(new float[] {1f}, 1f, new Objective.Distillation(0.5f, 4f));
    var targets = new Objective.Targets(manager.create(new long[] {0, 2}), Optional.empty());
    assertThat(objective.needsTeacher()).isTrue();
    assertThatThrownBy(() -> objective.loss(targets, new NDList(logits(STUDENT)), 0.1f))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("teacher logits");
  }

  @Test
  void distillationSettingsAreChecked() {
    assertThatThrownBy(() -> new Objective.Distillation(1f, 4f)).hasMessageContaining("[0, 1)");
    assertThatThrownBy(() -> new Objective.Distillation(0.5f, 0f)).hasMessageContaining("temperature");
    assertThat(Objective.Distillation.NONE.enabled()).isFalse();
  }
}
