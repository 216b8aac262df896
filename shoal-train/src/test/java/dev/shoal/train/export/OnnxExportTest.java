package dev.shoal.train.export;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.Shape;
import dev.shoal.model.TensorData;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.SampleData;
import dev.shoal.train.models.DemoCnn;
import dev.shoal.train.models.DenseNetStyle;
import dev.shoal.train.models.MobileNetV2Style;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.variants.TopKOutputs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported ONNX model, run by ONNX Runtime, computes what DJL computes: networks are trained
 * one epoch on the sample first so batch-norm statistics are far from their initial values.
 */
class OnnxExportTest {

  private static final double TOLERANCE = 1e-4;

  @TempDir Path tmp;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void demoCnnMatchesDjl() throws IOException {
    // Conv + folded BN, ReLU, MaxPool, GlobalAveragePool, Gemm
    assertExportMatches(DemoCnn.build(10), 10);
  }

  @Test
  void denseNetMatchesDjl() throws IOException {
    // dense layers: Concat of a block's input and every layer's new maps; 1x1 transitions
    assertExportMatches(DenseNetStyle.build(10), 10);
  }

  @Test
  void mobileNetVariantWithResizeMatchesDjl() throws IOException {
    // Resize 28 -> 20, depthwise and grouped convs, ReLU6 as Clip, residual Add, GlobalAveragePool
    assertExportMatches(MobileNetV2Style.variant(28, 20, 0.35, 32, 10), 10);
  }

  @Test
  void topKHeadReturnsTheLargestSoftmaxProbabilities() throws IOException {
    FashionData data = SampleData.load();
    Chain net = MobileNetV2Style.variant(28, 24, 0.35, 32, 10);
    try (TrainingSession session = train(net, data)) {
      float[] logits = session.predict(data.test()).get(0);
      Path file = tmp.resolve("topk.onnx");
      OnnxModelIO.write(OnnxModels.topK("v", net, 28, 28, 10, 3), file);
      Map<String, TensorData> out = OnnxEvaluator.run(file, data.test(), 64, 1);
      TopKOutputs topK = TopKOutputs.of(out.get(OnnxModels.TOPK_CLASSES), out.get(OnnxModels.TOPK_SCORES));
      assertThat(topK.count()).isEqualTo(200);
      assertThat(topK.k()).isEqualTo(3);
      for (int i = 0; i < topK.count(); i++) {
        double[] p = softmax(logits, i, 10);
        int[] best = java.util.stream.IntStream.range(0, 10).boxed()
            .sorted((a, b) -> Double.compare(p[b], p[a])).mapToInt(Integer::intValue).limit(3).toArray();
        for (int j = 0; j < 3; j++) {
          assertThat(topK.classes()[i * 3 + j]).isEqualTo(best[j]);
          assertThat((double) topK.scores()[i * 3 + j]).isCloseTo(p[best[j]], org.assertj.core.data.Offset.offset(TOLERANCE));
        }
      }
    }
  }

  private void assertExportMatches(Chain net, int classes) throws IOException {
    FashionData data = SampleData.load();
    try (TrainingSession session = train(net, data)) {
      float[] djl = session.predict(data.test()).get(0);
      Path file = tmp.resolve("net.onnx");
      OnnxModelIO.write(OnnxModels.logits("net", net, 28, 28, classes), file);
      TensorData onnx = OnnxEvaluator.run(file, data.test(), 64, 1).get(OnnxModels.LOGITS);
      assertThat(onnx.shape()).containsExactly(200, classes);
      float[] ort = onnx.floats();
      double maxDiff = 0;
      for (int i = 0; i < djl.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(djl[i] - ort[i]));
      }
      assertThat(maxDiff).isLessThanOrEqualTo(TOLERANCE);
      // the outputs are not trivially constant
      assertThat(djl[0]).isNotEqualTo(djl[1]);
    }
  }

  private static TrainingSession train(Chain net, FashionData data) {
    TrainingSession session =
        new TrainingSession(
            net, new Objective.Single(), TrainConfig.standard(1, 3).withBatchSize(32), new Shape(1, 28, 28), 300);
    session.fit(data.train(), Optional.empty(), r -> {});
    return session;
  }

  private static double[] softmax(float[] logits, int row, int classes) {
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      max = Math.max(max, logits[row * classes + c]);
    }
    double sum = 0;
    double[] p = new double[classes];
    for (int c = 0; c < classes; c++) {
      p[c] = Math.exp(logits[row * classes + c] - max);
      sum += p[c];
    }
    for (int c = 0; c < classes; c++) {
      p[c] /= sum;
    }
    return p;
  }
}
