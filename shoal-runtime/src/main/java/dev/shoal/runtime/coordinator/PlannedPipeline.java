package dev.shoal.runtime.coordinator;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.Stage;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.StageAssignment;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.ArrayList;
import java.util.List;

/**
 * A pipeline to deploy: its stages in order, and the cost model's plan and prediction behind it
 * ({@code null} for a fixed split that was not solved).
 */
public record PlannedPipeline(List<PlannedStage> stages, PipelinePlan prediction) {

  /**
   * Cuts the model where a solved plan says ({@link ModelSplitter}) and places each stage on the
   * worker of its device.
   *
   * @param deviceWorkers the worker of each device of the solved instance, in instance order
   * @param nodeSeconds each node's compute on the reference host, giving each stage's {@link
   *     PlannedStage#referenceSeconds()}; null when the plan's times are not this host's
   */
  public static PlannedPipeline cut(ModelProfile profile, PipelinePlan plan, List<WorkerEndpoint> deviceWorkers,
      TensorCodec codec, double[] nodeSeconds) {
    List<StageAssignment> assigned = plan.stages();
    int[] cuts = new int[assigned.size() - 1];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = assigned.get(i).last();
    }
    Split split = ModelSplitter.split(profile, cuts);
    List<PlannedStage> stages = new ArrayList<>();
    for (int i = 0; i < assigned.size(); i++) {
      StageAssignment a = assigned.get(i);
      Stage s = split.stages().get(i);
      double reference = 0;
      for (int n = a.first(); nodeSeconds != null && n <= a.last(); n++) {
        reference += nodeSeconds[n];
      }
      stages.add(new PlannedStage(deviceWorkers.get(a.device()), s.model().toByteArray(), s.inputs(), s.outputs(),
          codec, "nodes " + a.first() + ".." + a.last() + " (" + (a.last() - a.first() + 1) + ")", reference));
    }
    return new PlannedPipeline(stages, plan);
  }

  /** Throughput the cost model predicts, 1 / bottleneck, or NaN without a prediction. */
  public double predictedThroughput() {
    return prediction == null ? Double.NaN : 1.0 / prediction.bottleneck();
  }

  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < stages.size(); i++) {
      PlannedStage s = stages.get(i);
      sb.append(String.format("  stage %d on %-10s %-28s -> %s%n", i, s.worker().name(), s.layers(),
          i + 1 < stages.size() ? "(" + s.outputCodec().label() + ") stage " + (i + 1) : "results"));
    }
    if (prediction != null) {
      sb.append(String.format("  predicted bottleneck %.3f ms (%.1f inferences/s), latency %.3f ms%n",
          prediction.bottleneck() * 1e3, 1.0 / prediction.bottleneck(), prediction.latency() * 1e3));
    }
    return sb.toString();
  }
}
