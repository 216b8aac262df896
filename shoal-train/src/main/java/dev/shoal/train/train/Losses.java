package dev.shoal.train.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/** Loss terms shared by the training objectives. */
final class Losses {

  private Losses() {}

  /** Mean cross-entropy of {@code logits [N, C]} against labels with label smoothing {@code eps}. */
  static NDArray smoothedCrossEntropy(NDArray logits, NDArray labels, float eps) {
    return smoothedNll(logits.logSoftmax(1), labels, eps);
  }

  /** Mean smoothed negative log-likelihood of log-probabilities {@code logp [N, C]}. */
  static NDArray smoothedNll(NDArray logp, NDArray labels, float eps) {
    int classes = (int) logp.getShape().get(1);
    NDArray target = labels.oneHot(classes).mul(1 - eps).add(eps / classes);
    return target.mul(logp).sum(new int[] {1}).neg().mean();
  }

  /**
   * Knowledge distillation (Hinton et al.): {@code T^2 * KL(softmax(t/T) || softmax(z/T))} for
   * student logits {@code z} and teacher logits {@code t}, both {@code [N, C]}, averaged over the
   * batch. The {@code T^2} keeps its gradient on the scale of the cross-entropy's.
   */
  static NDArray distillation(NDArray studentLogits, NDArray teacherLogits, float temperature) {
    NDArray teacherLogp = teacherLogits.div(temperature).logSoftmax(1);
    NDArray studentLogp = studentLogits.div(temperature).logSoftmax(1);
    return teacherLogp.exp().mul(teacherLogp.sub(studentLogp)).sum(new int[] {1}).mean()
        .mul(temperature * temperature);
  }

  /**
   * Log of the weighted mixture {@code sum_i w_i softmax(z_i)} with {@code w} normalised to sum 1:
   * the fused prediction of several classifiers, computed stably with log-sum-exp.
   */
  static NDArray logMixture(NDList logits, float[] weights) {
    double total = 0;
    for (float w : weights) {
      total += w;
    }
    NDArray[] terms = new NDArray[logits.size()];
    for (int i = 0; i < terms.length; i++) {
      terms[i] = logits.get(i).logSoftmax(1).add((float) Math.log(weights[i] / total));
    }
    NDArray stacked = NDArrays.stack(new NDList(terms));
    NDArray peak = stacked.max(new int[] {0}, true);
    return stacked.sub(peak).exp().sum(new int[] {0}).log().add(peak.squeeze(0));
  }
}
