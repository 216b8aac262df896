package dev.shoal.runtime.fluid;

import dev.shoal.plan.strategy.FluidProducer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/**
 * The auto-mode rule: high-accuracy while the load allows, high-throughput when it does not, and
 * back with hysteresis. It is fed cumulative counters at every tick and looks at the last {@code
 * window}:
 *
 * <ul>
 *   <li><b>high-accuracy to high-throughput</b> when requests in flight exceed {@code queueHigh}
 *       (requests queue: arrivals outrun what the cooperating devices finish), or the window's mean
 *       latency exceeds {@code latencyHigh} (if set), at every tick for {@code hold}. At that moment
 *       the window's completion rate is recorded as what high-accuracy mode can carry (it was
 *       saturated).
 *   <li><b>high-throughput back to high-accuracy</b> when the arrival rate is below {@code
 *       backFraction} of that recorded capacity and at most {@code queueLow} requests are in
 *       flight, at every tick for {@code hold}. Queue length alone would not do: high-throughput
 *       mode keeps the queue short at loads high-accuracy cannot carry, so the modes would flap.
 * </ul>
 *
 * Not thread-safe: one ticker calls {@link #tick}.
 */
public final class AutoMode {

  /** The thresholds (see the class comment). */
  public record Options(int queueHigh, int queueLow, Duration latencyHigh, double backFraction, Duration hold,
      Duration window) {
    /** Switch at more than 8 in flight (or a 1 s mean latency), back below 70% of capacity, each held 1 s. */
    public static final Options DEFAULT = new Options(8, 2, Duration.ofSeconds(1), 0.7, Duration.ofSeconds(1),
        Duration.ofSeconds(2));

    public Options {
      if (queueHigh < 1 || queueLow < 0 || queueLow >= queueHigh || backFraction <= 0 || backFraction >= 1) {
        throw new IllegalArgumentException("auto mode needs 0 <= queueLow < queueHigh and 0 < backFraction < 1, got "
            + queueLow + ", " + queueHigh + ", " + backFraction);
      }
    }
  }

  /** A mode switch: when (this process's nanoTime), to which mode, and why. */
  public record Switch(long atNanos, String to, String reason) {}

  private record Snapshot(long nanos, long arrivals, long completions, double latencySeconds) {}

  private final Options options;
  private final Deque<Snapshot> window = new ArrayDeque<>();
  private final List<Switch> switches = new ArrayList<>();
  private String mode = FluidProducer.HIGH_ACCURACY;
  private long conditionSince = -1;
  private double accurateCapacity = Double.NaN;

  public AutoMode(Options options) {
    this.options = options;
  }

  /** The mode to serve in now. */
  public String mode() {
    return mode;
  }

  public List<Switch> switches() {
    return List.copyOf(switches);
  }

  /** Completions per second high-accuracy mode managed when it was last overloaded; NaN before. */
  public double accurateCapacity() {
    return accurateCapacity;
  }

  /**
   * One tick.
   *
   * @param arrivals requests accepted so far; {@code completions}: answered or failed so far;
   *     {@code latencySeconds}: the sum of their latencies
   * @return the mode to serve in from now on
   */
  public String tick(long nanos, int inFlight, long arrivals, long completions, double latencySeconds) {
    window.addLast(new Snapshot(nanos, arrivals, completions, latencySeconds));
    while (window.size() > 2 && nanos - window.peekFirst().nanos() > options.window().toNanos()) {
      window.removeFirst();
    }
    Snapshot first = window.peekFirst();
    double seconds = (nanos - first.nanos()) / 1e9;
    if (seconds <= 0) {
      return mode;
    }
    double arrivalRate = (arrivals - first.arrivals()) / seconds;
    long done = completions - first.completions();
    double completionRate = done / seconds;
    double meanLatency = done == 0 ? 0 : (latencySeconds - first.latencySeconds()) / done;
    boolean condition;
    String reason;
    if (mode.equals(FluidProducer.HIGH_ACCURACY)) {
      boolean slow = options.latencyHigh() != null && meanLatency > options.latencyHigh().toNanos() / 1e9;
      condition = inFlight > options.queueHigh() || slow;
      reason = String.format(Locale.ROOT, "%d in flight (limit %d), mean latency %.0f ms, %.1f answers/s",
          inFlight, options.queueHigh(), meanLatency * 1e3, completionRate);
    } else {
      condition = arrivalRate < options.backFraction() * accurateCapacity && inFlight <= options.queueLow();
      reason = String.format(Locale.ROOT, "%.1f requests/s < %.0f%% of high-accuracy's %.1f/s, %d in flight",
          arrivalRate, options.backFraction() * 100, accurateCapacity, inFlight);
    }
    if (!condition) {
      conditionSince = -1;
      return mode;
    }
    if (conditionSince < 0) {
      conditionSince = nanos;
    }
    if (nanos - conditionSince >= options.hold().toNanos()) {
      if (mode.equals(FluidProducer.HIGH_ACCURACY)) {
        accurateCapacity = completionRate;
        mode = FluidProducer.HIGH_THROUGHPUT;
      } else {
        mode = FluidProducer.HIGH_ACCURACY;
      }
      switches.add(new Switch(nanos, mode, reason));
      conditionSince = -1;
    }
    return mode;
  }
}
