package dev.shoal.train.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongToDoubleFunction;

/**
 * SGD with heavy-ball momentum and weight decay, on the recipe's schedule (linear warm-up, then
 * cosine to 0): the update DJL's own SGD computes (SeparableTrainerTest), with its whole state —
 * the step count and every momentum buffer — open to saving and restoring, so that a resumed run
 * continues exactly where the interrupted one stopped and {@link StepGuard} can go back to a copy
 * after a refused step. (DJL's own SGD keeps both private.) Every trainer of the project uses it.
 */
public final class CheckpointedSgd extends Optimizer {

  /**
   * No gradient clipping, as in the project's recipe. (DJL's PyTorch update clamps only from above
   * when asked to clip: the clip of +-1 this class once asked for cut positive gradients alone.)
   */
  private static final float NO_CLIP = -1f;

  private final float learningRate;
  private final float momentum;
  private final long warmUpSteps;
  private final long totalSteps;
  private final LongToDoubleFunction rateScale;
  private final Map<String, NDArray> velocity = new LinkedHashMap<>();
  private long step;

  private static final class Settings extends OptimizerBuilder<Settings> {
    @Override
    protected Settings self() {
      return this;
    }
  }

  public CheckpointedSgd(float learningRate, float momentum, float weightDecay, long stepsPerEpoch, long totalSteps) {
    this(learningRate, momentum, weightDecay, stepsPerEpoch, totalSteps, step -> 1);
  }

  /** As above, with the schedule's rate at each step multiplied by {@code rateScale} of the step. */
  public CheckpointedSgd(
      float learningRate, float momentum, float weightDecay, long stepsPerEpoch, long totalSteps,
      LongToDoubleFunction rateScale) {
    super(new Settings().optWeightDecays(weightDecay));
    this.rateScale = rateScale;
    this.learningRate = learningRate;
    this.momentum = momentum;
    this.totalSteps = Math.max(1, totalSteps);
    this.warmUpSteps = Math.min(stepsPerEpoch / 2, this.totalSteps / 10);
  }

  /** Call once per batch, before the trainer's step. */
  public void beginStep(long globalStep) {
    this.step = globalStep;
  }

  /** The schedule's peak rate, reached at the end of the warm-up. */
  public float learningRate() {
    return learningRate;
  }

  float learningRateAt(long s) {
    float scheduled;
    if (s < warmUpSteps) {
      scheduled = learningRate * (s + 1) / warmUpSteps;
    } else {
      double progress = Math.min(1.0, (s - warmUpSteps) / (double) Math.max(1, totalSteps - warmUpSteps));
      scheduled = (float) (learningRate * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    return (float) (scheduled * rateScale.applyAsDouble(s));
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    NDArray state = velocity.computeIfAbsent(parameterId, id -> weight.zerosLike());
    weight
        .getNDArrayInternal()
        .sgdUpdate(
            new NDList(weight, grad, state),
            new NDList(weight),
            learningRateAt(step),
            getWeightDecay(),
            1f,
            NO_CLIP,
            momentum,
            true);
  }

  /**
   * The momentum buffers for a checkpoint, each named by {@code names} (parameter id to the
   * parameter's stable name: ids are fresh for every network instance).
   */
  public NDList state(Map<String, String> names) {
    NDList list = new NDList();
    for (var e : velocity.entrySet()) {
      NDArray copy = e.getValue().duplicate();
      copy.setName(names.get(e.getKey()));
      list.add(copy);
    }
    return list;
  }

  /** A copy of every momentum buffer by parameter id, to go back to after a failed step. */
  Map<String, float[]> copyState() {
    Map<String, float[]> copy = new LinkedHashMap<>();
    velocity.forEach((id, v) -> copy.put(id, v.toFloatArray()));
    return copy;
  }

  /** Puts back the buffers of {@link #copyState}; buffers made since then start again from zero. */
  void setState(Map<String, float[]> copy) {
    for (var e : velocity.entrySet()) {
      float[] saved = copy.get(e.getKey());
      e.getValue().set(saved != null ? saved : new float[(int) e.getValue().size()]);
    }
  }

  /** Restores the buffers of {@link #state}; {@code ids} maps names back to this network's ids. */
  public void restore(NDList saved, Map<String, String> ids, NDManager manager) {
    velocity.clear();
    for (NDArray a : saved) {
      NDArray v = manager.zeros(a.getShape());
      v.set(a.toByteBuffer());
      velocity.put(ids.get(a.getName()), v);
    }
  }
}
