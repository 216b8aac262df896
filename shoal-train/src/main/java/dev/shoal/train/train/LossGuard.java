package dev.shoal.train.train;

/**
 * Judges each training step's loss before the step is taken. A loss that is not finite, or one
 * that is finite but more than {@value #BLOW_UP_FACTOR} times the mean of the last
 * {@value #WINDOW} taken losses (once {@value #WARM_UP} have been taken), is refused: the trainer
 * skips the step and goes back to its last good weights. A finite blow-up is as much a failed step
 * as a NaN: a G = 4 diagnostic run's loss went to 1e15 and stayed there, still finite, so the NaN
 * check alone let it train on (docs/separable.md). Only taken losses enter the mean. {@link
 * StepGuard} acts on its verdicts.
 */
public final class LossGuard {

  /** A loss this many times the recent mean is a blow-up. */
  public static final double BLOW_UP_FACTOR = 10;
  /** Taken losses the mean is computed over. */
  static final int WINDOW = 50;
  /** Taken losses before the mean is trusted; until then only a non-finite loss is refused. */
  static final int WARM_UP = 10;

  /** What the guard made of one loss. */
  public sealed interface Verdict {
    /** The step may be taken; the loss now counts in the mean. */
    record Take() implements Verdict {}

    /** NaN or infinite. */
    record NotFinite() implements Verdict {}

    /** Finite, but more than {@link #BLOW_UP_FACTOR} times {@code recentMean}. */
    record BlewUp(double recentMean) implements Verdict {}
  }

  private final double[] recent = new double[WINDOW];
  private int taken;
  private double sum;

  /** Judges {@code loss}; a loss judged {@link Verdict.Take} is added to the recent mean. */
  Verdict judge(float loss) {
    if (!Float.isFinite(loss)) {
      return new Verdict.NotFinite();
    }
    if (taken >= WARM_UP) {
      double mean = sum / Math.min(taken, WINDOW);
      if (loss > BLOW_UP_FACTOR * mean) {
        return new Verdict.BlewUp(mean);
      }
    }
    int slot = taken % WINDOW;
    if (taken >= WINDOW) {
      sum -= recent[slot];
    }
    recent[slot] = loss;
    sum += loss;
    taken++;
    return new Verdict.Take();
  }
}
