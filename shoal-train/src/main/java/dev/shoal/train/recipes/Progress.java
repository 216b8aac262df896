package dev.shoal.train.recipes;

import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.util.function.Consumer;

/** Progress lines for long training runs. */
public final class Progress {

  private Progress() {}

  public static TrainingSession.Listener epochs(String what, TrainConfig config, Consumer<String> log) {
    return new TrainingSession.Listener() {
      @Override
      public void epoch(EpochReport r) {
        log.accept(
            String.format(
                "%s: epoch %d/%d, loss %.4f, %.1f s (%.0f images/s)",
                what, r.epoch(), config.epochs(), r.meanLoss(), r.seconds(), r.samples() / r.seconds()));
      }

      @Override
      public void steps(int epoch, int step, int stepsPerEpoch, double meanLoss) {
        log.accept(String.format("%s: epoch %d/%d, step %d/%d, loss %.4f", what, epoch, config.epochs(), step, stepsPerEpoch, meanLoss));
      }
    };
  }
}
