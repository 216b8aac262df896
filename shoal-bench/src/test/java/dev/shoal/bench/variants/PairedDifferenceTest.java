package dev.shoal.bench.variants;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PairedDifferenceTest {

  @Test
  void countsOnlyTheImagesOneOfTheTwoGetsRight() {
    boolean[] model = {true, true, false, true, false};
    boolean[] base = {true, false, true, false, false};
    PairedDifference d = PairedDifference.of(model, base);
    assertThat(d).isEqualTo(new PairedDifference(2, 1, 5));
    assertThat(d.points()).isCloseTo(20.0, within(1e-9));
  }

  @Test
  void theIntervalFollowsTheDisagreements() {
    // 10,000 images, 150 only the model gets right, 100 only the base: +0.5 points,
    // sd = sqrt((0.025 - 0.000025) / 10000) = 0.0015803 -> 1.96 * 0.158 = 0.3097 points.
    PairedDifference d = new PairedDifference(150, 100, 10_000);
    assertThat(d.points()).isCloseTo(0.5, within(1e-9));
    assertThat(d.ci95Points()).isCloseTo(0.3097, within(1e-4));
    assertThat(new PairedDifference(0, 0, 10_000).ci95Points()).isZero();
  }

  @Test
  void refusesAnswersForDifferentImages() {
    assertThatThrownBy(() -> PairedDifference.of(new boolean[3], new boolean[4])).hasMessageContaining("3 model answers");
    assertThatThrownBy(() -> new PairedDifference(6, 5, 10)).hasMessageContaining("bad paired counts");
  }
}
