package dev.shoal.train.train;

import ai.djl.nn.Block;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
   * Call before each step: {@code steps} taken or refused in the whole run so far, {@code
   * stepOfEpoch} of them in this epoch. Sets the optimiser's schedule to the step and takes the
   * in-memory copy when one is due.
   */
  public void begin(long steps, int stepOfEpoch) {
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

  /** Judges the step's loss: true when the step may be taken (backward pass and update). */
  public boolean accepts(float stepLoss) {
    loss = stepLoss;
    verdict = losses.judge(stepLoss);
    return verdict instanceof LossGuard.Verdict.Take;
  }

  /**
   * After {@link #accepts} refused the step at {@code step} (1-based) of {@code epoch}: puts back
   * the last copy and says so.
   *
   * @throws IllegalStateException "training diverged: ..." when this is one refusal too many
   */
  public Rollback rollBack(int epoch, int step) {
    if (verdict instanceof LossGuard.Verdict.Take) {
      throw new IllegalStateException("the step's loss was accepted; there is nothing to go back on");
    }
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
