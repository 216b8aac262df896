package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.LocalBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Class parallelism over real ONNX Runtime sessions, one per class subset. */
class ClassParallelBackendTest {

  private static final int[][] OWNED = {{0, 2, 4}, {1, 3, 5}};
  private static final float[] X = {0.5f, -1f, 2f, 0.25f};

  private static ClassParallelBackend backend(List<LocalBackend> locals) {
    List<ClassParallelBackend.Shard> shards = new ArrayList<>();
    for (int i = 0; i < OWNED.length; i++) {
      LocalBackend b = LocalBackend.open("cp" + i, TopKModels.scoresOnnx(TopKModels.weights(10 + i, 3), 3),
          LocalBackend.Options.DEFAULT);
      locals.add(b);
      shards.add(new ClassParallelBackend.Shard(new EnsembleMember("cp" + i, b, "cp" + i), OWNED[i]));
    }
    return new ClassParallelBackend("cp", shards, 6, Duration.ofSeconds(10));
  }

  private static double[] concatenated() {
    double[] logits = new double[6];
    for (int i = 0; i < OWNED.length; i++) {
      float[] s = TopKModels.scores(TopKModels.weights(10 + i, 3), 3, X);
      for (int j = 0; j < 3; j++) {
        logits[OWNED[i][j]] = s[j];
      }
    }
    return logits;
  }

  @Test
  void concatenatesTheSubModelsScoresInClassOrder() throws Exception {
    List<LocalBackend> locals = new ArrayList<>();
    try (ClassParallelBackend cp = backend(locals)) {
      Map<String, TensorData> out = cp.run("cp", Map.of("x", TensorData.ofFloats("x", new long[] {1, 4}, X)), Duration.ofSeconds(60)).get();
      float[] want = EnsembleOutputs.softmax(concatenated());
      assertThat(out.get("probabilities").floats()).containsExactly(want, within(1e-5f));
      assertThat(EnsembleOutputs.classes(out)).containsExactly(EnsembleOutputs.argmax(want));
      assertThat(EnsembleOutputs.degraded(out)).isFalse();
    }
  }

  @Test
  void aMissingSubModelDegradesTheAnswerItsClassesGetZero() throws Exception {
    List<LocalBackend> locals = new ArrayList<>();
    try (ClassParallelBackend cp = backend(locals)) {
      locals.get(0).close();
      Map<String, TensorData> out = cp.run("cp", Map.of("x", TensorData.ofFloats("x", new long[] {1, 4}, X)), Duration.ofSeconds(60)).get();
      float[] p = out.get("probabilities").floats();
      assertThat(p[0]).isZero();
      assertThat(p[2]).isZero();
      assertThat(p[4]).isZero();
      assertThat(p[1] + p[3] + p[5]).isCloseTo(1f, within(1e-5f));
      assertThat(EnsembleOutputs.classes(out)[0] % 2).isEqualTo(1);
      assertThat(EnsembleOutputs.degraded(out)).isTrue();
      assertThat(EnsembleOutputs.answered(out)).isEqualTo(1);
    }
  }

  @Test
  void refusesSubsetsThatDoNotCoverEachClassOnce() {
    try (LocalBackend b = LocalBackend.open("s", TopKModels.scoresOnnx(TopKModels.weights(1, 3), 3),
        LocalBackend.Options.DEFAULT)) {
      EnsembleMember m = new EnsembleMember("s", b, "s");
      assertThatThrownBy(() -> new ClassParallelBackend("cp",
          List.of(new ClassParallelBackend.Shard(m, new int[] {0, 1, 2})), 4, Duration.ofSeconds(1)))
          .hasMessageContaining("class 3 is owned by no sub-model");
      assertThatThrownBy(() -> new ClassParallelBackend("cp", List.of(
          new ClassParallelBackend.Shard(m, new int[] {0, 1, 2}),
          new ClassParallelBackend.Shard(m, new int[] {2, 3, 4})), 5, Duration.ofSeconds(1)))
          .hasMessageContaining("class 2 is owned twice");
    }
  }
}
