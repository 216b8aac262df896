package dev.shoal.runtime.coordinator;

import dev.shoal.plan.PipelinePlan;
import java.util.List;

/**
 * A pipeline to deploy: its stages in order, and the cost model's plan and prediction behind it
 * ({@code null} for a fixed split that was not solved).
 */
public record PlannedPipeline(List<PlannedStage> stages, PipelinePlan prediction) {

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
