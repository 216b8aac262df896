package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.model.TensorData;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.graph.Merge;
import dev.shoal.plan.graph.MergeRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The merges over real ONNX Runtime answers (sessions in this process). */
class MergersTest {
  private static final int CLASSES = 6;
  private static final int K = 2;
  private static final double[] WEIGHTS = {1.0, 0.6, 0.3};
  private static final float[] X = {0.5f, -1f, 2f, 0.25f, -0.3f, 0.8f, -1.2f, 1.5f};
  private static final int[][] OWNED = {{0, 2, 4}, {1, 3, 5}};

  private static Map<String, TensorData> run(byte[] onnx, int rows) {
    try (OnnxSession s = OnnxSession.open(onnx, OnnxSession.Options.DEFAULT)) {
      return s.run(Map.of("x", TensorData.ofFloats("x", new long[] {rows, 4}, java.util.Arrays.copyOf(X, rows * 4))));
    }
  }

  private static Merge.Member variant(int i) {
    return new Merge.Member("v" + i, "v" + i, Map.of("ids", "classes", "scores", "scores"), WEIGHTS[i], List.of());
  }

  private static Mergers.Answer variantAnswer(int i) {
    Map<String, TensorData> out = run(TopKModels.onnx(TopKModels.weights(i, CLASSES), CLASSES, K), 2);
    return new Mergers.Answer(variant(i), Map.of("ids", out.get("classes"), "scores", out.get("scores")));
  }

  private static float[] expected(int row, int... variants) {
    float[] x = java.util.Arrays.copyOfRange(X, row * 4, row * 4 + 4);
    List<TopKFusion.Answer> answers = new ArrayList<>();
    for (int v : variants) {
      answers.add(TopKModels.topK(TopKModels.weights(v, CLASSES), CLASSES, K, x, WEIGHTS[v]));
    }
    return EnsembleOutputs.softmax(TopKFusion.fuse(CLASSES, answers));
  }

  @Test
  void topKFusionOfEveryVariantAndOfTheSurvivors() {
    Merge m = new Merge("fuse", new MergeRule.TopKFusion(CLASSES), List.of(variant(0), variant(1), variant(2)), 0);
    Mergers.Merged all = Mergers.of(m.rule()).merge(m, List.of(variantAnswer(0), variantAnswer(1), variantAnswer(2)),
        false);
    float[] p = all.outputs().get("probabilities").floats();
    for (int row = 0; row < 2; row++) {
      assertThat(java.util.Arrays.copyOfRange(p, row * CLASSES, (row + 1) * CLASSES))
          .containsExactly(expected(row, 0, 1, 2), within(1e-5f));
      assertThat(EnsembleOutputs.classes(all.outputs())[row]).isEqualTo(EnsembleOutputs.argmax(expected(row, 0, 1, 2)));
    }
    assertThat(EnsembleOutputs.degraded(all.outputs())).isFalse();
    assertThat(EnsembleOutputs.answered(all.outputs())).isEqualTo(3);

    Mergers.Merged some = Mergers.of(m.rule()).merge(m, List.of(variantAnswer(0), variantAnswer(2)), true);
    assertThat(java.util.Arrays.copyOf(some.outputs().get("probabilities").floats(), CLASSES))
        .containsExactly(expected(0, 0, 2), within(1e-5f));
    assertThat(EnsembleOutputs.degraded(some.outputs())).isTrue();
    assertThat(some.answered()).containsExactly("v0", "v2");
  }

  @Test
  void aBadAnswerIsLeftOutWithTheReason() {
    Merge m = new Merge("fuse", new MergeRule.TopKFusion(CLASSES), List.of(variant(0), variant(1)), 0);
    Mergers.Answer good = variantAnswer(0);
    Mergers.Answer wrongShape = new Mergers.Answer(variant(1), Map.of(
        "ids", TensorData.ofFloats("classes", new long[] {1, 2}, new float[2]), "scores", good.byRole().get("scores")));
    Mergers.Merged merged = Mergers.of(m.rule()).merge(m, List.of(good, wrongShape), false);
    assertThat(merged.answered()).containsExactly("v0");
    assertThat(merged.rejected()).singleElement().asString().startsWith("v1: bad answer");
    assertThat(EnsembleOutputs.degraded(merged.outputs())).isTrue();
  }

  @Test
  void classConcatenationPlacesScoresAndAMissingMembersClassesGetZero() {
    List<Merge.Member> members = new ArrayList<>();
    List<Mergers.Answer> answers = new ArrayList<>();
    double[] logits = new double[CLASSES];
    for (int i = 0; i < OWNED.length; i++) {
      Merge.Member member = new Merge.Member("cp" + i, "cp" + i, Map.of("scores", "scores"), 1,
          java.util.Arrays.stream(OWNED[i]).boxed().toList());
      members.add(member);
      TensorData s = run(TopKModels.scoresOnnx(TopKModels.weights(10 + i, 3), 3), 1).get("scores");
      answers.add(new Mergers.Answer(member, Map.of("scores", s)));
      float[] v = TopKModels.scores(TopKModels.weights(10 + i, 3), 3, java.util.Arrays.copyOf(X, 4));
      for (int j = 0; j < 3; j++) {
        logits[OWNED[i][j]] = v[j];
      }
    }
    Merge m = new Merge("cat", new MergeRule.ClassConcat(CLASSES), members, 0);
    Mergers.Merged all = Mergers.of(m.rule()).merge(m, answers, false);
    assertThat(all.outputs().get("probabilities").floats()).containsExactly(EnsembleOutputs.softmax(logits), within(1e-5f));

    Mergers.Merged half = Mergers.of(m.rule()).merge(m, answers.subList(1, 2), true);
    float[] p = half.outputs().get("probabilities").floats();
    assertThat(p[0]).isZero();
    assertThat(p[2]).isZero();
    assertThat(p[4]).isZero();
    assertThat(p[1] + p[3] + p[5]).isCloseTo(1f, within(1e-5f));
    assertThat(EnsembleOutputs.answered(half.outputs())).isEqualTo(1);
  }

  @Test
  void weightedAverage() {
    MergeRule.WeightedAverage rule = new MergeRule.WeightedAverage("mean", new long[] {1, 2});
    Merge.Member a = new Merge.Member("a", "a", Map.of("values", "y"), 3, List.of());
    Merge.Member b = new Merge.Member("b", "b", Map.of("values", "y"), 1, List.of());
    Merge m = new Merge("avg", rule, List.of(a, b), 0);
    Mergers.Merged merged = Mergers.of(rule).merge(m, List.of(
        new Mergers.Answer(a, Map.of("values", TensorData.ofFloats("y", new long[] {1, 2}, new float[] {1, 2}))),
        new Mergers.Answer(b, Map.of("values", TensorData.ofFloats("y", new long[] {1, 2}, new float[] {5, 6})))), false);
    assertThat(merged.outputs().get("mean").floats()).containsExactly(2f, 3f);
  }

  @Test
  void sumOfEveryMembersPartAndNoAnswerWithAPartMissing() {
    MergeRule.Sum rule = new MergeRule.Sum("logits", new long[] {-1, 2});
    Merge.Member a = new Merge.Member("d0s2", "d0s2", Map.of("values", "partial_logits"), 1, List.of());
    Merge.Member b = new Merge.Member("d1s2", "d1s2", Map.of("values", "partial_logits"), 1, List.of());
    Merge m = new Merge("sum", rule, List.of(a, b), 0);
    Mergers.Answer partA = new Mergers.Answer(a, Map.of("values", TensorData.ofFloats("p", new long[] {1, 2}, new float[] {1, 2})));
    Mergers.Answer partB = new Mergers.Answer(b, Map.of("values", TensorData.ofFloats("p", new long[] {1, 2}, new float[] {0.5f, -6})));
    Mergers.Merged merged = Mergers.of(rule).merge(m, List.of(partA, partB), false);
    assertThat(merged.outputs().get("logits").floats()).containsExactly(1.5f, -4f);
    assertThat(merged.answered()).containsExactly("d0s2", "d1s2");
    Mergers.Merged partial = Mergers.of(rule).merge(m, List.of(partA), true);
    assertThat(partial.answered()).isEmpty();
    assertThat(partial.outputs()).isEmpty();
    assertThat(partial.rejected()).singleElement().asString().contains("a sum needs every member's part");
    Mergers.Answer wrong = new Mergers.Answer(b, Map.of("values", TensorData.ofFloats("p", new long[] {1, 3}, new float[3])));
    assertThat(Mergers.of(rule).merge(m, List.of(partA, wrong), false).answered()).isEmpty();
  }
}
