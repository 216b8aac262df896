package dev.shoal.train.separable;

import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.util.function.Consumer;

/** Progress lines of the separable training phases, with the time of day for long runs. */
final class SeparableProgress {

  private SeparableProgress() {}

  static SeparableTrainer.Progress epochs(String what, TrainConfig config, Consumer<String> log) {
    return new SeparableTrainer.Progress() {
      @Override
      public void epoch(EpochReport r) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, loss %.4f, %.1f s (%.0f images/s)", java.time.LocalTime.now().withNano(0), what,
            r.epoch(), config.epochs(), r.meanLoss(), r.seconds(), r.samples() / r.seconds()));
      }

      @Override
      public void rolledBack(SeparableTrainer.Rollback r) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, step %d: %s, back to the weights after step %d", java.time.LocalTime.now().withNano(0),
            what, r.epoch(), config.epochs(), r.step(), r.reason(), r.toStep()));
      }

      @Override
      public void steps(int epoch, int step, int stepsPerEpoch, double meanLoss) {
        log.accept(String.format(
            "%s %s: epoch %d/%d, step %d/%d, loss %.4f", java.time.LocalTime.now().withNano(0), what, epoch,
            config.epochs(), step, stepsPerEpoch, meanLoss));
      }
    };
  }
}
