package dev.shoal.train.recipes;

import dev.shoal.train.train.StepGuard;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.time.LocalTime;
import java.util.function.Consumer;

/** Progress lines of every training run, with the time of day for long ones. */
public final class Progress {

  private Progress() {}

  public static TrainingSession.Listener epochs(String what, TrainConfig config, Consumer<String> log) {
    return new TrainingSession.Listener() {
      @Override
      public void epoch(EpochReport r) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, loss %.4f, %.1f s (%.0f images/s)", now(), what, r.epoch(), config.epochs(),
            r.meanLoss(), r.seconds(), r.samples() / r.seconds()));
      }

      @Override
      public void steps(int epoch, int step, int stepsPerEpoch, double meanLoss) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, step %d/%d, loss %.4f", now(), what, epoch, config.epochs(), step, stepsPerEpoch,
            meanLoss));
      }

      @Override
      public void rolledBack(StepGuard.Rollback r) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, step %d: %s, back to the weights after step %d", now(), what, r.epoch(),
            config.epochs(), r.step(), r.reason(), r.toStep()));
      }
    };
  }

  private static LocalTime now() {
    return LocalTime.now().withNano(0);
  }
}
