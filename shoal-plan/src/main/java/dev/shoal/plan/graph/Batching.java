package dev.shoal.plan.graph;

import java.util.List;

/**
 * Dynamic batching of a stage, with Triton's semantics: requests queued at the stage are run
 * together, up to {@code maxBatchSize} rows; a batch of one of the {@code preferredBatchSizes} is
 * run at once, otherwise the stage waits at most {@code maxQueueDelayMicros} for more before it
 * runs what it has. Only for stages whose inputs and outputs have a dynamic first (batch)
 * dimension. {@link #NONE}: every request runs alone.
 */
public record Batching(int maxBatchSize, List<Integer> preferredBatchSizes, long maxQueueDelayMicros) {

  public static final Batching NONE = new Batching(1, List.of(), 0);

  public Batching {
    preferredBatchSizes = preferredBatchSizes == null ? List.of() : List.copyOf(preferredBatchSizes);
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("maxBatchSize must be >= 1, got " + maxBatchSize);
    }
    if (maxQueueDelayMicros < 0) {
      throw new IllegalArgumentException("maxQueueDelayMicros must be >= 0, got " + maxQueueDelayMicros);
    }
    for (int p : preferredBatchSizes) {
      if (p < 1 || p > maxBatchSize) {
        throw new IllegalArgumentException("preferred batch size " + p + " is outside [1, " + maxBatchSize + "]");
      }
    }
  }

  public boolean enabled() {
    return maxBatchSize > 1;
  }
}
