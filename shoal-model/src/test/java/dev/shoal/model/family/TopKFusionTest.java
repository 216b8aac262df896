package dev.shoal.model.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TopKFusionTest {

  @Test
  void sumsWeightedTopKScoresPerClass() {
    var a = new TopKFusion.Answer(1.0, new long[] {2, 0}, new float[] {0.6f, 0.3f});
    var b = new TopKFusion.Answer(0.5, new long[] {0, 1}, new float[] {0.9f, 0.1f});
    double[] fused = TopKFusion.fuse(3, List.of(a, b));
    assertThat(fused[0]).isCloseTo(0.3 + 0.45, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(fused[1]).isCloseTo(0.05, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(fused[2]).isCloseTo(0.6, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(TopKFusion.predict(3, List.of(a, b))).isEqualTo(0);
    // any single variant still answers on its own
    assertThat(TopKFusion.predict(3, List.of(a))).isEqualTo(2);
  }

  @Test
  void rejectsClassIdsOutsideTheFamily() {
    var bad = new TopKFusion.Answer(1.0, new long[] {7}, new float[] {1f});
    assertThatThrownBy(() -> TopKFusion.fuse(3, List.of(bad)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("class id 7");
  }
}
