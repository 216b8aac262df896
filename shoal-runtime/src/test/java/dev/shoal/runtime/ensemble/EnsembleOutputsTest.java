package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.model.TensorData;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnsembleOutputsTest {

  @Test
  void softmaxGivesZeroToMissingClassesAndSumsToOne() {
    float[] p = EnsembleOutputs.softmax(new double[] {1, Double.NEGATIVE_INFINITY, 3});
    assertThat(p[1]).isZero();
    assertThat(p[0] + p[2]).isCloseTo(1f, within(1e-6f));
    assertThat(p[2] / p[0]).isCloseTo((float) Math.exp(2), within(1e-4f));
  }

  @Test
  void tensorsCarryArgmaxDegradedAndAnswered() {
    Map<String, TensorData> out = EnsembleOutputs.tensors(
        new float[][] {{0.2f, 0.5f, 0.3f}, {0.4f, 0.4f, 0.2f}}, true, 2);
    assertThat(out.get(EnsembleOutputs.PROBABILITIES).shape()).containsExactly(2, 3);
    assertThat(EnsembleOutputs.classes(out)).containsExactly(1, 0);
    assertThat(EnsembleOutputs.degraded(out)).isTrue();
    assertThat(EnsembleOutputs.answered(out)).isEqualTo(2);
  }
}
