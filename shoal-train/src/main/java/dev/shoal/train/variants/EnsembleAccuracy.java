package dev.shoal.train.variants;

import dev.shoal.model.family.TopKFusion;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.train.Accuracy;
import java.util.ArrayList;
import java.util.List;

/** Top-1 accuracy of a set of variants fused by {@link TopKFusion}, as the gateway would fuse them. */
public final class EnsembleAccuracy {

  private EnsembleAccuracy() {}

  public static double of(List<TopKOutputs> members, double[] fusionWeights, int numClasses, LabelledImages data) {
    return Accuracy.fraction(correct(members, fusionWeights, numClasses, data));
  }

  /** Per image of {@code data}: whether the fused answer is its label. */
  public static boolean[] correct(
      List<TopKOutputs> members, double[] fusionWeights, int numClasses, LabelledImages data) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one member");
    }
    boolean[] correct = new boolean[data.count()];
    for (int i = 0; i < data.count(); i++) {
      List<TopKFusion.Answer> answers = new ArrayList<>(members.size());
      for (int m = 0; m < members.size(); m++) {
        answers.add(members.get(m).answer(i, fusionWeights[m]));
      }
      correct[i] = TopKFusion.predict(numClasses, answers) == data.label(i);
    }
    return correct;
  }
}
