package dev.shoal.train.train;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LossGuardTest {

  @Test
  void aBlowUpIsRefusedOnlyOnceTheMeanHasWarmedUp() {
    LossGuard guard = new LossGuard();
    assertThat(guard.judge(50f)).as("no mean yet").isInstanceOf(LossGuard.Verdict.Take.class);
    for (int i = 1; i < LossGuard.WARM_UP; i++) {
      assertThat(guard.judge(1f)).isInstanceOf(LossGuard.Verdict.Take.class);
    }
    // Mean of the ten taken losses: (50 + 9) / 10 = 5.9; exactly 10x is still taken.
    assertThat(guard.judge(59f)).isEqualTo(new LossGuard.Verdict.Take());
    // Now (50 + 9 + 59) / 11 = 10.73: 108 is over 10x, and a refused loss does not enter the mean.
    assertThat(guard.judge(108f)).isEqualTo(new LossGuard.Verdict.BlewUp((50 + 9 + 59) / 11.0));
    assertThat(guard.judge(108f)).isEqualTo(new LossGuard.Verdict.BlewUp((50 + 9 + 59) / 11.0));
    assertThat(guard.judge(Float.NaN)).isEqualTo(new LossGuard.Verdict.NotFinite());
    assertThat(guard.judge(Float.POSITIVE_INFINITY)).isEqualTo(new LossGuard.Verdict.NotFinite());
  }

  @Test
  void theMeanForgetsLossesOlderThanTheWindow() {
    LossGuard guard = new LossGuard();
    guard.judge(100f);
    for (int i = 1; i < LossGuard.WINDOW; i++) {
      guard.judge(1f);
    }
    // The 100 is still in the window: 15 is under 10x the mean (149 / 50 = 2.98).
    assertThat(guard.judge(15f)).isEqualTo(new LossGuard.Verdict.Take());
    // That 15 took the 100's place: the mean is (15 + 49) / 50 = 1.28, and 15 is now over 10x.
    assertThat(guard.judge(15f)).isEqualTo(new LossGuard.Verdict.BlewUp(64 / 50.0));
  }
}
