package dev.shoal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The load averages are read from this (Linux) host and written as /proc/loadavg writes them. */
class LoadAverageTest {

  @Test
  void readsTheThreeAveragesOfThisHost() {
    LoadAverage now = LoadAverage.now();
    assertThat(now.oneMinute()).isFinite().isNotNegative();
    assertThat(now.fifteenMinutes()).isFinite().isNotNegative();
    assertThat(now.toString()).matches("\\d+\\.\\d\\d \\d+\\.\\d\\d \\d+\\.\\d\\d");
    assertThat(new LoadAverage(17.5, 3, 1).oneMinuteText()).isEqualTo("17.50");
    assertThat(new LoadAverage(Double.NaN, Double.NaN, Double.NaN)).hasToString("unknown");
  }
}
