package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.model.TensorData;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.LocalBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The ensemble over real ONNX Runtime sessions (one per variant, in this process). */
class VariantEnsembleBackendTest {

  private static final int CLASSES = 6;
  private static final int K = 2;
  private static final double[] WEIGHTS = {1.0, 0.6, 0.3};
  private static final float[] X = {0.5f, -1f, 2f, 0.25f, -0.3f, 0.8f, -1.2f, 1.5f};

  private static VariantEnsembleBackend ensemble(List<LocalBackend> locals) {
    List<VariantEnsembleBackend.Variant> variants = new ArrayList<>();
    for (int i = 0; i < WEIGHTS.length; i++) {
      LocalBackend b = LocalBackend.open("v" + i, TopKModels.onnx(TopKModels.weights(i, CLASSES), CLASSES, K),
          LocalBackend.Options.DEFAULT);
      locals.add(b);
      variants.add(new VariantEnsembleBackend.Variant(new EnsembleMember("v" + i, b, "v" + i), WEIGHTS[i]));
    }
    return new VariantEnsembleBackend("vp", variants, CLASSES, Duration.ofSeconds(10));
  }

  private static float[] expected(int row, int... variants) {
    float[] x = java.util.Arrays.copyOfRange(X, row * 4, row * 4 + 4);
    List<TopKFusion.Answer> answers = new ArrayList<>();
    for (int v : variants) {
      answers.add(TopKModels.topK(TopKModels.weights(v, CLASSES), CLASSES, K, x, WEIGHTS[v]));
    }
    return EnsembleOutputs.softmax(TopKFusion.fuse(CLASSES, answers));
  }

  private static Map<String, TensorData> infer(VariantEnsembleBackend e) throws Exception {
    return e.run("vp", Map.of("x", TensorData.ofFloats("x", new long[] {2, 4}, X)), Duration.ofSeconds(60)).get();
  }

  @Test
  void fusesEveryVariantsTopK() throws Exception {
    List<LocalBackend> locals = new ArrayList<>();
    try (VariantEnsembleBackend e = ensemble(locals)) {
      assertThat(e.models().get(0).outputs()).extracting(s -> s.name())
          .containsExactly("probabilities", "class", "degraded", "answered");
      Map<String, TensorData> out = infer(e);
      float[] probs = out.get("probabilities").floats();
      assertThat(out.get("probabilities").shape()).containsExactly(2, CLASSES);
      for (int row = 0; row < 2; row++) {
        float[] want = expected(row, 0, 1, 2);
        for (int c = 0; c < CLASSES; c++) {
          assertThat(probs[row * CLASSES + c]).isCloseTo(want[c], within(1e-5f));
        }
        long cls = ByteBuffer.wrap(out.get("class").data()).order(ByteOrder.LITTLE_ENDIAN).getLong(row * 8);
        assertThat(cls).isEqualTo(EnsembleOutputs.argmax(want));
      }
      assertThat(out.get("degraded").data()).containsExactly(0);
      assertThat(ByteBuffer.wrap(out.get("answered").data()).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(3);
    }
  }

  @Test
  void answersFromTheSurvivorsAndSaysItIsDegraded() throws Exception {
    List<LocalBackend> locals = new ArrayList<>();
    try (VariantEnsembleBackend e = ensemble(locals)) {
      locals.get(1).close();
      Map<String, TensorData> out = infer(e);
      assertThat(out.get("degraded").data()).containsExactly(1);
      assertThat(ByteBuffer.wrap(out.get("answered").data()).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(2);
      float[] want = expected(0, 0, 2);
      float[] probs = out.get("probabilities").floats();
      for (int c = 0; c < CLASSES; c++) {
        assertThat(probs[c]).isCloseTo(want[c], within(1e-5f));
      }
      assertThat(e.ready()).isTrue();
      assertThat(String.join("\n", e.status())).contains("variant v1 (weight 0.600): DOWN");

      locals.get(0).close();
      locals.get(2).close();
      assertThat(e.ready()).isFalse();
      assertThatThrownBy(() -> infer(e)).hasCauseInstanceOf(InferenceException.class)
          .hasMessageContaining("no variant answered");
    }
  }

  @Test
  void refusesVariantsThatAreNotTopKClassifiers() {
    try (LocalBackend plain = LocalBackend.open("plain",
        dev.shoal.runtime.gateway.LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT)) {
      assertThatThrownBy(() -> new VariantEnsembleBackend("vp",
          List.of(new VariantEnsembleBackend.Variant(new EnsembleMember("p", plain, "plain"), 1.0)),
          3, Duration.ofSeconds(1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("must output top-k class ids (INT64) and scores (FP32)");
    }
  }
}
