package dev.shoal.runtime.ensemble;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.plan.graph.Merge;
import dev.shoal.plan.graph.MergeRule;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a plan's merges: each {@link MergeRule} has a {@link Merger} that combines the answers of
 * the members that arrived. A member whose answer does not fit the rule (shape, names) counts as
 * missing, with the reason.
 */
public final class Mergers {

  /** One member's answer: its tensors by rule role. */
  public record Answer(Merge.Member member, Map<String, TensorData> byRole) {}

  /** The merged outputs, and the members left out with why (in addition to those that never answered). */
  public record Merged(Map<String, TensorData> outputs, List<String> answered, List<String> rejected) {}

  /** The SPI: how one kind of rule combines answers (at least one). */
  public interface Merger {
    Merged merge(Merge merge, List<Answer> answers, boolean degraded);
  }

  private Mergers() {}

  /** The merger of a rule. */
  public static Merger of(MergeRule rule) {
    if (rule instanceof MergeRule.TopKFusion) {
      return Mergers::topKFusion;
    }
    if (rule instanceof MergeRule.ClassConcat) {
      return Mergers::classConcat;
    }
    if (rule instanceof MergeRule.WeightedAverage) {
      return Mergers::weightedAverage;
    }
    if (rule instanceof MergeRule.Routed) {
      return Mergers::routed;
    }
    if (rule instanceof MergeRule.Sum) {
      return Mergers::sum;
    }
    throw new IllegalArgumentException("no merger for rule " + rule);
  }

  private static Merged topKFusion(Merge merge, List<Answer> answers, boolean degraded) {
    int numClasses = ((MergeRule.TopKFusion) merge.rule()).numClasses();
    int rows = rows(answers);
    List<List<TopKFusion.Answer>> perRow = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      perRow.add(new ArrayList<>());
    }
    List<String> answered = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    for (Answer a : answers) {
      TensorData ids = a.byRole().get("ids");
      TensorData scores = a.byRole().get("scores");
      if (ids.dtype() != DType.INT64 || scores.dtype() != DType.FLOAT || ids.shape().length != 2
          || ids.shape()[0] != rows || !Arrays.equals(ids.shape(), scores.shape())) {
        rejected.add(a.member().name() + ": bad answer: top-k ids " + ids.dtype() + Arrays.toString(ids.shape())
            + " and scores " + scores.dtype() + Arrays.toString(scores.shape()) + " for a batch of " + rows);
        continue;
      }
      int k = (int) ids.shape()[1];
      ByteBuffer idBuf = ByteBuffer.wrap(ids.data()).order(ByteOrder.LITTLE_ENDIAN);
      float[] s = scores.floats();
      for (int r = 0; r < rows; r++) {
        long[] rowIds = new long[k];
        for (int j = 0; j < k; j++) {
          rowIds[j] = idBuf.getLong();
        }
        perRow.get(r).add(new TopKFusion.Answer(a.member().weight(), rowIds, Arrays.copyOfRange(s, r * k, (r + 1) * k)));
      }
      answered.add(a.member().name());
    }
    float[][] probabilities = new float[rows][];
    for (int r = 0; r < rows; r++) {
      probabilities[r] = EnsembleOutputs.softmax(TopKFusion.fuse(numClasses, perRow.get(r)));
    }
    return new Merged(EnsembleOutputs.tensors(probabilities, degraded || !rejected.isEmpty(), answered.size()),
        answered, rejected);
  }

  private static Merged classConcat(Merge merge, List<Answer> answers, boolean degraded) {
    int numClasses = ((MergeRule.ClassConcat) merge.rule()).numClasses();
    int rows = rows(answers);
    double[][] logits = new double[rows][numClasses];
    boolean[] present = new boolean[numClasses];
    List<String> answered = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    for (Answer a : answers) {
      TensorData scores = a.byRole().get("scores");
      List<Integer> classes = a.member().classes();
      int width = classes.size();
      if (scores.dtype() != DType.FLOAT || !Arrays.equals(scores.shape(), new long[] {rows, width})) {
        rejected.add(a.member().name() + ": bad answer: expected scores FLOAT[" + rows + ", " + width + "], got "
            + scores.dtype() + Arrays.toString(scores.shape()));
        continue;
      }
      float[] v = scores.floats();
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < width; j++) {
          logits[r][classes.get(j)] = v[r * width + j];
        }
      }
      classes.forEach(c -> present[c] = true);
      answered.add(a.member().name());
    }
    float[][] probabilities = new float[rows][];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < numClasses; c++) {
        if (!present[c]) {
          logits[r][c] = Double.NEGATIVE_INFINITY; // a missing member's classes get probability 0
        }
      }
      probabilities[r] = EnsembleOutputs.softmax(logits[r]);
    }
    return new Merged(EnsembleOutputs.tensors(probabilities, degraded || !rejected.isEmpty(), answered.size()),
        answered, rejected);
  }

  private static Merged weightedAverage(Merge merge, List<Answer> answers, boolean degraded) {
    MergeRule.WeightedAverage rule = (MergeRule.WeightedAverage) merge.rule();
    long[] shape = answers.get(0).byRole().get("values").shape();
    double[] sum = new double[(int) TensorData.elementCount(shape)];
    double weights = 0;
    List<String> answered = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    for (Answer a : answers) {
      TensorData v = a.byRole().get("values");
      String mismatch = unlikeTheOthers(a, v, shape);
      if (mismatch != null) {
        rejected.add(mismatch);
        continue;
      }
      float[] f = v.floats();
      for (int i = 0; i < sum.length; i++) {
        sum[i] += a.member().weight() * f[i];
      }
      weights += a.member().weight();
      answered.add(a.member().name());
    }
    float[] mean = new float[sum.length];
    for (int i = 0; i < sum.length; i++) {
      mean[i] = (float) (sum[i] / weights);
    }
    Map<String, TensorData> out = new LinkedHashMap<>();
    out.put(rule.output(), TensorData.ofFloats(rule.output(), shape, mean));
    out.put(MergeRule.ANSWERED, new TensorData(MergeRule.ANSWERED, DType.INT32, new long[] {1},
        ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(answered.size()).array()));
    return new Merged(out, answered, rejected);
  }

  /** The one member the request was routed to answers (the first usable answer, should several arrive). */
  private static Merged routed(Merge merge, List<Answer> answers, boolean degraded) {
    MergeRule.Routed rule = (MergeRule.Routed) merge.rule();
    List<String> rejected = new ArrayList<>();
    for (Answer a : answers) {
      TensorData v = a.byRole().get("values");
      if (!rule.outputs().get(0).accepts(v)) {
        rejected.add(a.member().name() + ": bad answer: values " + v.dtype() + Arrays.toString(v.shape())
            + ", expected FLOAT" + Arrays.toString(rule.shape()));
        continue;
      }
      return new Merged(Map.of(rule.output(), v.withName(rule.output())), List.of(a.member().name()), rejected);
    }
    return new Merged(Map.of(), List.of(), rejected);
  }

  /** Every member's values added in member order (float32, as the devices' partial sums would be added). */
  private static Merged sum(Merge merge, List<Answer> answers, boolean degraded) {
    MergeRule.Sum rule = (MergeRule.Sum) merge.rule();
    List<String> rejected = new ArrayList<>();
    if (degraded || answers.size() < merge.members().size()) {
      answers.forEach(a -> rejected.add(a.member().name() + ": left out, a sum needs every member's part"));
      return new Merged(Map.of(), List.of(), rejected);
    }
    long[] shape = answers.get(0).byRole().get("values").shape();
    float[] sum = new float[(int) TensorData.elementCount(shape)];
    List<String> answered = new ArrayList<>();
    for (Answer a : answers) {
      TensorData v = a.byRole().get("values");
      String mismatch = unlikeTheOthers(a, v, shape);
      if (mismatch != null) {
        rejected.add(mismatch);
        continue;
      }
      float[] f = v.floats();
      for (int i = 0; i < sum.length; i++) {
        sum[i] += f[i];
      }
      answered.add(a.member().name());
    }
    if (!rejected.isEmpty()) {
      return new Merged(Map.of(), List.of(), rejected);
    }
    return new Merged(Map.of(rule.output(), TensorData.ofFloats(rule.output(), shape, sum)), answered, rejected);
  }

  /** Why a member's FP32 values cannot be combined with the others' (of {@code shape}), or null. */
  private static String unlikeTheOthers(Answer a, TensorData v, long[] shape) {
    if (v.dtype() == DType.FLOAT && Arrays.equals(v.shape(), shape)) {
      return null;
    }
    return a.member().name() + ": bad answer: values " + v.dtype() + Arrays.toString(v.shape())
        + ", others " + Arrays.toString(shape);
  }

  private static int rows(List<Answer> answers) {
    TensorData first = answers.get(0).byRole().values().iterator().next();
    return first.shape().length == 0 ? 1 : (int) first.shape()[0];
  }
}
