package dev.shoal.runtime.fluid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.plan.strategy.FluidProducer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The auto-mode rule on synthetic load, ticking every 100 ms: a queue past the limit for the hold
 * time switches to high-throughput and records high-accuracy's capacity; a load that high-accuracy
 * could not carry keeps high-throughput even with a short queue; a load well under that capacity
 * switches back.
 */
class AutoModeTest {

  private static final long TICK = 100_000_000L;

  private long now;
  private long arrivals;
  private long completions;

  /** Runs the rule for {@code seconds} at {@code arrivalRate} and {@code completionRate}, with {@code inFlight}. */
  private String run(AutoMode auto, double seconds, double arrivalRate, double completionRate, int inFlight) {
    String mode = auto.mode();
    for (int i = 0; i < seconds * 10; i++) {
      now += TICK;
      arrivals += Math.round(arrivalRate / 10);
      completions += Math.round(completionRate / 10);
      mode = auto.tick(now, inFlight, arrivals, completions, completions * 0.05);
    }
    return mode;
  }

  @Test
  void switchesUnderOverloadAndBackOnlyWhenHighAccuracyCouldCarryTheLoad() {
    AutoMode auto = new AutoMode(new AutoMode.Options(8, 2, null, 0.7, Duration.ofSeconds(1), Duration.ofSeconds(2)));
    assertThat(run(auto, 3, 20, 20, 3)).isEqualTo(FluidProducer.HIGH_ACCURACY);
    // a brief burst shorter than the hold time changes nothing
    assertThat(run(auto, 0.5, 40, 30, 12)).isEqualTo(FluidProducer.HIGH_ACCURACY);
    assertThat(run(auto, 0.3, 20, 20, 3)).isEqualTo(FluidProducer.HIGH_ACCURACY);
    // overload: 50/s offered, 30/s answered, the queue grows
    assertThat(run(auto, 3, 50, 30, 20)).isEqualTo(FluidProducer.HIGH_THROUGHPUT);
    assertThat(auto.accurateCapacity()).isBetween(25.0, 35.0);
    // high-throughput keeps the queue short at 40/s, but high-accuracy could not carry 40/s: stay
    assertThat(run(auto, 5, 40, 40, 1)).isEqualTo(FluidProducer.HIGH_THROUGHPUT);
    // 10/s is well under 70% of ~30/s: back to high-accuracy
    assertThat(run(auto, 4, 10, 10, 1)).isEqualTo(FluidProducer.HIGH_ACCURACY);
    assertThat(auto.switches()).extracting(AutoMode.Switch::to)
        .containsExactly(FluidProducer.HIGH_THROUGHPUT, FluidProducer.HIGH_ACCURACY);
  }

  @Test
  void aHighMeanLatencySwitchesToo() {
    AutoMode auto = new AutoMode(new AutoMode.Options(100, 2, Duration.ofMillis(20), 0.7, Duration.ofSeconds(1),
        Duration.ofSeconds(2)));
    // 50 ms per answer (run() books 0.05 s each), above 20 ms, with a short queue
    assertThat(run(auto, 3, 10, 10, 2)).isEqualTo(FluidProducer.HIGH_THROUGHPUT);
  }
}
