package dev.shoal.bench.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The one-way transfer time the latency floor charges per tensor, from the measured TCP sizes. */
class TransferFloorTest {
  private static final int[] SIZES = {4096, 102_400, 1_048_576};
  private static final double[] MS = {0.02, 0.06, 0.60};

  @Test
  void aMeasuredSizeCostsWhatWasMeasured() {
    for (int i = 0; i < SIZES.length; i++) {
      assertThat(DataplaneBench.oneWayMs(SIZES, MS, SIZES[i])).isCloseTo(MS[i], within(1e-12));
    }
  }

  @Test
  void sizesBetweenAndBeyondAreLinearInTheNearestSegment() {
    assertThat(DataplaneBench.oneWayMs(SIZES, MS, (4096 + 102_400) / 2)).isCloseTo(0.04, within(1e-9));
    assertThat(DataplaneBench.oneWayMs(SIZES, MS, 2 * 1_048_576 - 102_400)).isCloseTo(1.14, within(1e-9));
    assertThat(DataplaneBench.oneWayMs(SIZES, MS, 40)).isBetween(0.0, 0.02);
  }
}
