package dev.shoal.train.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;
import java.util.Optional;

/** What a network is trained to minimise, given all its outputs for a batch. */
public sealed interface Objective permits Objective.Single, Objective.VariantJoint, Objective.EachOutput {

  /**
   * What a batch is trained towards: its labels {@code [N]} (int64) and, when the objective
   * distils from a teacher, the teacher's logits for the same (augmented) images {@code [N, C]}.
   */
  record Targets(NDArray labels, Optional<NDArray> teacherLogits) {}

  /** The scalar loss for one batch, given the network's outputs. */
  NDArray loss(Targets targets, NDList outputs, float labelSmoothing);

  /** Whether {@link Targets#teacherLogits()} must be present. */
  default boolean needsTeacher() {
    return false;
  }

  /** Cross-entropy on the network's one output (logits). */
  record Single() implements Objective {
    @Override
    public NDArray loss(Targets targets, NDList outputs, float labelSmoothing) {
      return Losses.smoothedCrossEntropy(outputs.singletonOrThrow(), targets.labels(), labelSmoothing);
    }
  }

  /**
   * The sum of every output's cross-entropy: each output is a classifier trained for its own sake
   * (a Fluid sub-network, its combined head; every width of a slimmable network).
   */
  record EachOutput() implements Objective {
    @Override
    public NDArray loss(Targets targets, NDList outputs, float labelSmoothing) {
      NDArray total = Losses.smoothedCrossEntropy(outputs.get(0), targets.labels(), labelSmoothing);
      for (int i = 1; i < outputs.size(); i++) {
        total = total.add(Losses.smoothedCrossEntropy(outputs.get(i), targets.labels(), labelSmoothing));
      }
      return total;
    }
  }

  /**
   * How much of each variant's own term is learnt from a teacher: {@code weight} in [0, 1) of it is
   * the distillation loss at {@code temperature}, the rest the cross-entropy on the labels.
   */
  record Distillation(float weight, float temperature) {
    public static final Distillation NONE = new Distillation(0f, 1f);

    public Distillation {
      if (!(weight >= 0 && weight < 1)) {
        throw new IllegalArgumentException("distillation weight must be in [0, 1), got " + weight);
      }
      if (!(temperature > 0)) {
        throw new IllegalArgumentException("distillation temperature must be positive, got " + temperature);
      }
    }

    public boolean enabled() {
      return weight > 0;
    }
  }

  /**
   * The variant family's joint loss: every variant's own term plus {@code fusedWeight} times the
   * cross-entropy of the fused prediction, the mixture of the variants' softmax outputs weighted by
   * their fusion weights (what the gateway computes, before the top-k cut). A variant's own term is
   * its cross-entropy on the labels, blended with distillation from a teacher when one is set.
   */
  record VariantJoint(float[] fusionWeights, float fusedWeight, Distillation distillation) implements Objective {
    @Override
    public NDArray loss(Targets targets, NDList outputs, float labelSmoothing) {
      if (outputs.size() != fusionWeights.length) {
        throw new IllegalArgumentException(
            outputs.size() + " outputs for " + fusionWeights.length + " fusion weights");
      }
      NDArray labels = targets.labels();
      NDArray total = Losses.smoothedNll(Losses.logMixture(outputs, fusionWeights), labels, labelSmoothing)
          .mul(fusedWeight);
      for (NDArray logits : outputs) {
        NDArray own = Losses.smoothedCrossEntropy(logits, labels, labelSmoothing);
        if (distillation.enabled()) {
          NDArray teacher =
              targets.teacherLogits().orElseThrow(() -> new IllegalStateException("distillation needs teacher logits"));
          own = own.mul(1 - distillation.weight())
              .add(Losses.distillation(logits, teacher, distillation.temperature()).mul(distillation.weight()));
        }
        total = total.add(own);
      }
      return total;
    }

    @Override
    public boolean needsTeacher() {
      return distillation.enabled();
    }
  }

  /** This objective as a DJL {@link Loss} (labels, then teacher logits if any; predictions second). */
  default Loss asDjlLoss(float labelSmoothing) {
    Objective self = this;
    return new Loss(getClass().getSimpleName()) {
      @Override
      public NDArray evaluate(NDList labels, NDList predictions) {
        Optional<NDArray> teacher = labels.size() > 1 ? Optional.of(labels.get(1)) : Optional.empty();
        return self.loss(new Targets(labels.get(0), teacher), predictions, labelSmoothing);
      }
    };
  }
}
