package dev.shoal.runtime.coordinator;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.ArrayList;
import java.util.List;

/**
 * A split made in advance: stage i goes to the i-th live worker. Used where no cost model is
 * wanted (transport benchmarks, tests of the transport itself); re-planning keeps the split and
 * moves stages onto the survivors.
 */
public final class FixedStagePlanner implements StagePlanner {
  private final List<byte[]> stageModels;
  private final TensorCodec codec;
  private final double[] referenceSeconds;

  public FixedStagePlanner(List<byte[]> stageModels, TensorCodec codec) {
    this(stageModels, codec, new double[stageModels.size()]);
  }

  /** @param referenceSeconds each stage's compute on the reference host (see {@link PlannedStage}) */
  public FixedStagePlanner(List<byte[]> stageModels, TensorCodec codec, double[] referenceSeconds) {
    if (referenceSeconds.length != stageModels.size()) {
      throw new IllegalArgumentException(stageModels.size() + " stages but " + referenceSeconds.length
          + " reference times");
    }
    this.stageModels = List.copyOf(stageModels);
    this.codec = codec;
    this.referenceSeconds = referenceSeconds.clone();
  }

  @Override
  public PlannedPipeline plan(List<WorkerEndpoint> alive) {
    if (alive.size() < stageModels.size()) {
      throw new InfeasibleInstanceException("the fixed split has " + stageModels.size()
          + " stages, only " + alive.size() + " workers are alive");
    }
    List<PlannedStage> stages = new ArrayList<>();
    for (int i = 0; i < stageModels.size(); i++) {
      stages.add(new PlannedStage(alive.get(i), stageModels.get(i), List.of(), List.of(), codec,
          "fixed part " + (i + 1) + "/" + stageModels.size(), referenceSeconds[i]));
    }
    return new PlannedPipeline(stages, null);
  }
}
