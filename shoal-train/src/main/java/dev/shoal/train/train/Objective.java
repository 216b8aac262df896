package dev.shoal.train.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;

/** What a network is trained to minimise, given all its outputs for a batch. */
public sealed interface Objective permits Objective.Single, Objective.VariantJoint {

  /** The scalar loss for one batch: labels {@code [N]} (int64), the network's outputs. */
  NDArray loss(NDArray labels, NDList outputs, float labelSmoothing);

  /** Cross-entropy on the network's one output (logits). */
  record Single() implements Objective {
    @Override
    public NDArray loss(NDArray labels, NDList outputs, float labelSmoothing) {
      return Losses.smoothedCrossEntropy(outputs.singletonOrThrow(), labels, labelSmoothing);
    }
  }

  /**
   * The variant family's joint loss: cross-entropy of every variant's logits plus
   * {@code fusedWeight} times the cross-entropy of the fused prediction, the mixture of the
   * variants' softmax outputs weighted by their fusion weights (what the gateway computes, before
   * the top-k cut).
   */
  record VariantJoint(float[] fusionWeights, float fusedWeight) implements Objective {
    @Override
    public NDArray loss(NDArray labels, NDList outputs, float labelSmoothing) {
      if (outputs.size() != fusionWeights.length) {
        throw new IllegalArgumentException(
            outputs.size() + " outputs for " + fusionWeights.length + " fusion weights");
      }
      NDArray total = Losses.smoothedNll(Losses.logMixture(outputs, fusionWeights), labels, labelSmoothing)
          .mul(fusedWeight);
      for (NDArray logits : outputs) {
        total = total.add(Losses.smoothedCrossEntropy(logits, labels, labelSmoothing));
      }
      return total;
    }
  }

  /** This objective as a DJL {@link Loss} (labels first, predictions second, as DJL orders them). */
  default Loss asDjlLoss(float labelSmoothing) {
    Objective self = this;
    return new Loss(getClass().getSimpleName()) {
      @Override
      public NDArray evaluate(NDList labels, NDList predictions) {
        return self.loss(labels.singletonOrThrow(), predictions, labelSmoothing);
      }
    };
  }
}
