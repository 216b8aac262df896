package dev.shoal.model.split;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.zoo.ModelZoo;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chained stages equal the whole model (max abs error &le; 1e-5, same argmax) on a batch of 2
 * random samples, for each zoo model: cut after every position at once (one node per stage, so
 * every cut's tensor set is both sent and received and skip tensors are forwarded through many
 * stages), 50 random sets of 2..8 cuts, and, for models of up to {@value #SINGLE_CUT_LIMIT} nodes,
 * each single cut on its own.
 */
class SplitExactnessTest {

  static final double TOLERANCE = 1e-5;
  static final int RANDOM_CUT_SETS = 50;
  static final int SINGLE_CUT_LIMIT = 80;

  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of("mobilenetv2", ModelZoo.mobileNetV2(32, 0.25, 10, 7)),
        Arguments.of("resnet50", ModelZoo.resNet50Like(32, 0.125, 10, 7)),
        Arguments.of("densenet", ModelZoo.denseNet(32, 8, new int[] {3, 4, 3}, 10, 7)),
        Arguments.of("inception", ModelZoo.inceptionLike(32, 0.125, 10, 7)),
        Arguments.of("transformer", ModelZoo.transformer(2, 8, 32, 4, 64, 10, 7)),
        Arguments.of("multi-io", ModelZoo.multiInputOutput(16, 8, 5, 7)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void chainedStagesEqualTheWholeModel(String name, ModelProto model) {
    ModelGraph graph = ModelGraph.of(model, name);
    ModelProfile profile = ModelProfile.of(graph);
    int n = graph.nodes().size();
    Random random = new Random(42);
    Map<String, TensorData> inputs = SampleInputs.random(graph, 2, 42);
    Map<String, TensorData> expected;
    try (OnnxSession whole = OnnxSession.open(model.toByteArray(), OnnxSession.Options.DEFAULT)) {
      expected = whole.run(inputs);
    }
    check(profile, inputs, expected, java.util.stream.IntStream.range(0, n - 1).toArray());
    for (int cut = 0; n <= SINGLE_CUT_LIMIT && cut < n - 1; cut++) {
      check(profile, inputs, expected, new int[] {cut});
    }
    for (int set = 0; set < RANDOM_CUT_SETS; set++) {
      int k = Math.min(n - 1, 2 + random.nextInt(7));
      TreeSet<Integer> cuts = new TreeSet<>();
      while (cuts.size() < k) {
        cuts.add(random.nextInt(n - 1));
      }
      check(profile, inputs, expected, cuts.stream().mapToInt(Integer::intValue).toArray());
    }
  }

  private static void check(ModelProfile profile, Map<String, TensorData> inputs,
      Map<String, TensorData> expected, int[] cuts) {
    Split split = ModelSplitter.split(profile, cuts);
    assertThat(split.stages()).hasSize(cuts.length + 1);
    Map<String, TensorData> actual;
    try (StageChain chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
      actual = chain.run(inputs);
    }
    assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
    for (String out : expected.keySet()) {
      TensorData e = expected.get(out);
      TensorData a = actual.get(out);
      String where = "output " + out + " with cuts " + java.util.Arrays.toString(cuts);
      assertThat(a.shape()).as(where).isEqualTo(e.shape());
      float[] ev = e.floats();
      float[] av = a.floats();
      double maxErr = 0;
      for (int i = 0; i < ev.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(ev[i] - av[i]));
      }
      assertThat(maxErr).as(where).isLessThanOrEqualTo(TOLERANCE);
      int rows = (int) e.shape()[0];
      int cols = ev.length / rows;
      for (int r = 0; r < rows; r++) {
        assertThat(argmax(av, r * cols, cols)).as(where + " row " + r)
            .isEqualTo(argmax(ev, r * cols, cols));
      }
    }
  }

  private static int argmax(float[] v, int from, int len) {
    int best = from;
    for (int i = from; i < from + len; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best - from;
  }
}
