package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class TopKFusionTest {

  @Test
  void scattersScalesSumsAndSoftmaxes() {
    var a = new TopKFusion.WeightedTopK(new long[] {2, 0}, new float[] {3f, 1f}, 1.0);
    var b = new TopKFusion.WeightedTopK(new long[] {1, 2}, new float[] {2f, 1f}, 0.5);
    float[] p = TopKFusion.fuse(4, List.of(a, b));
    // class sums: c0 = 1, c1 = 0.5*2 = 1, c2 = 3 + 0.5*1 = 3.5, c3 = 0
    double z = Math.exp(1) + Math.exp(1) + Math.exp(3.5) + Math.exp(0);
    assertThat(p[0]).isCloseTo((float) (Math.exp(1) / z), within(1e-6f));
    assertThat(p[1]).isCloseTo((float) (Math.exp(1) / z), within(1e-6f));
    assertThat(p[2]).isCloseTo((float) (Math.exp(3.5) / z), within(1e-6f));
    assertThat(p[3]).isCloseTo((float) (1 / z), within(1e-6f));
    assertThat(TopKFusion.argmax(p)).isEqualTo(2);
  }

  @Test
  void oneVariantAloneStillGivesAFullPrediction() {
    float[] p = TopKFusion.fuse(3, List.of(new TopKFusion.WeightedTopK(new long[] {1}, new float[] {4f}, 2.0)));
    assertThat(p).hasSize(3);
    assertThat(TopKFusion.argmax(p)).isEqualTo(1);
  }

  @Test
  void refusesClassIdsOutsideTheClassVectorAndEmptyInput() {
    assertThatThrownBy(() -> TopKFusion.fuse(3,
        List.of(new TopKFusion.WeightedTopK(new long[] {3}, new float[] {1f}, 1.0))))
        .hasMessageContaining("class id 3 outside [0, 3)");
    assertThatThrownBy(() -> TopKFusion.fuse(3, List.of())).hasMessageContaining("no variant answered");
  }
}
