package dev.shoal.train.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The check every training step of the project's trainers passes before it is taken. Its loss is
 * judged by a {@link LossGuard}; a refused step is not taken, and the weights, batch-norm
 * statistics and momentum buffers go back to the last in-memory copy (one is taken every {@value
 * #SNAPSHOT_EVERY} steps of an epoch), and training goes on with the next batch. PyTorch on this
 * project's VMs gives a NaN now and then that the same step does not give again (docs/fluid.md,
 * "PyTorch on this machine"), and a loss can blow up while staying finite; a run refused more than
 * {@value #MAX_ROLLBACKS} times is a real divergence and ends with an error.
 */
public final class StepGuard {

  /** Steps of an epoch between the in-memory copies a refused step goes back to. */
  static final int SNAPSHOT_EVERY = 25;
  /** Refused steps a run goes back on before it gives up as diverged. */
  public static final int MAX_ROLLBACKS = 20;

  /**
   * A refused step: the loss at {@code step} (1-based) of {@code epoch} was not finite or blew up
   * (more than {@link LossGuard#BLOW_UP_FACTOR} times {@code recentMean}, NaN for a loss that was
   * not finite); the weights went back to those after {@code toStep} steps.
   */
  public record Rollback(int epoch, int step, long toStep, float loss, double recentMean) {
    /** Why the step was refused, for a log line. */
    public String reason() {
      return Float.isFinite(loss)
          ? String.format("loss %.4g blew up (over %.0fx the recent mean %.4f)", loss, LossGuard.BLOW_UP_FACTOR, recentMean)
          : "loss " + loss + " not finite";
    }
  }

  /** The loss of one training batch through the trainer's forward pass, its arrays made in {@code batch}. */
  @FunctionalInterface
  public interface BatchLoss {
    NDArray of(NDManager batch);
  }

  private final Block net;
  private final CheckpointedSgd sgd;
  private final LossGuard losses = new LossGuard();
  private final List<float[]> weights = new ArrayList<>();
  private Map<String, float[]> momentum = Map.of();
  private long copiedAfterSteps;
  private LossGuard.Verdict verdict = new LossGuard.Verdict.Take();
  private float loss;
  private int rollbacks;

  /** Guards the steps {@code sgd} takes on the parameters of {@code net}. */
  public StepGuard(Block net, CheckpointedSgd sgd) {
    this.net = net;
    this.sgd = sgd;
  }

  /**
   * One guarded step of {@code trainer}, step {@code stepOfEpoch} (0-based) of {@code epoch} and
   * {@code steps} taken or refused before it in the whole run: the loss, then the backward pass and
   * the update when the loss is accepted, or the rollback, told to {@code listener}, when it is not.
   *
   * @return the step's loss when it was taken, empty when it was refused
   * @throws IllegalStateException "training diverged: ..." when this is one refusal too many
   */
  public OptionalDouble step(
      Trainer trainer, long steps, int epoch, int stepOfEpoch, BatchLoss batchLoss, TrainingSession.Listener listener) {
    begin(steps, stepOfEpoch);
    float value;
    boolean taken;
    try (NDManager batch = trainer.getManager().newSubManager()) {
      try (GradientCollector gc = trainer.newGradientCollector()) {
        NDArray loss = batchLoss.of(batch);
        value = loss.getFloat();
        taken = accepts(value);
        if (taken) {
          gc.backward(loss);
        }
      }
      if (taken) {
        trainer.step();
      }
    }
    if (!taken) {
      listener.rolledBack(rollBack(epoch, stepOfEpoch + 1));
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(value);
  }

  /** Sets the optimiser's schedule to the step and takes the in-memory copy when one is due. */
  private void begin(long steps, int stepOfEpoch) {
    if (stepOfEpoch % SNAPSHOT_EVERY == 0) {
      weights.clear();
      for (var p : net.getParameters()) {
        weights.add(p.getValue().getArray().toFloatArray());
      }
      momentum = sgd.copyState();
      copiedAfterSteps = steps;
    }
    sgd.beginStep(steps);
  }

  /** Judges the step's loss: true when the step may be taken. */
  private boolean accepts(float stepLoss) {
    loss = stepLoss;
    verdict = losses.judge(stepLoss);
    return verdict instanceof LossGuard.Verdict.Take;
  }

  /** After {@link #accepts} refused the step at {@code step} (1-based) of {@code epoch}: puts back the last copy. */
  private Rollback rollBack(int epoch, int step) {
    if (++rollbacks > MAX_ROLLBACKS) {
      throw new IllegalStateException(String.format(
          "training diverged: the loss was not finite or blew up %d times (last at epoch %d, step %d, loss %s); "
              + "stopped before exporting anything. Try a lower learning rate than %s.",
          rollbacks, epoch, step, loss, sgd.learningRate()));
    }
    int i = 0;
    for (var p : net.getParameters()) {
      p.getValue().getArray().set(weights.get(i++));
    }
    sgd.setState(momentum);
    double mean = verdict instanceof LossGuard.Verdict.BlewUp b ? b.recentMean() : Double.NaN;
    return new Rollback(epoch, step, copiedAfterSteps, loss, mean);
  }
}
