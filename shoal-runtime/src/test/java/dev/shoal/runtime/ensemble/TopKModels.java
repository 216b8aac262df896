package dev.shoal.runtime.ensemble;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.family.TopKFusion;
import java.util.Random;

/**
 * Small real ONNX classifiers with a top-k head, like the exported variants: {@code x: float[N,4]
 * -> logits = x·W -> TopK(k) -> scores FP32[N,k], classes INT64[N,k]}, with seeded weights, and
 * the same computation in Java for checking answers.
 */
public final class TopKModels {

  static final int IN = 4;

  private TopKModels() {}

  public static float[] weights(long seed, int classes) {
    Random r = new Random(seed);
    float[] w = new float[IN * classes];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian();
    }
    return w;
  }

  public static byte[] onnx(float[] w, int classes, int k) {
    TensorProto.Builder wt = TensorProto.newBuilder().setName("W").setDataType(1).addDims(IN).addDims(classes);
    for (float v : w) {
      wt.addFloatData(v);
    }
    TensorProto kt = TensorProto.newBuilder().setName("K").setDataType(7).addDims(1).addInt64Data(k).build();
    GraphProto g = GraphProto.newBuilder().setName("topk_classifier")
        .addInput(value("x", 1, IN)).addOutput(value("scores", 1, k)).addOutput(value("classes", 7, k))
        .addInitializer(wt).addInitializer(kt)
        .addNode(NodeProto.newBuilder().setOpType("MatMul").addInput("x").addInput("W").addOutput("logits"))
        .addNode(NodeProto.newBuilder().setOpType("TopK").addInput("logits").addInput("K")
            .addOutput("scores").addOutput("classes")
            .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(-1)))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .build().toByteArray();
  }

  /** The same classifier without the top-k head: {@code x -> scores = x·W}, FP32[N,classes]. */
  static byte[] scoresOnnx(float[] w, int classes) {
    TensorProto.Builder wt = TensorProto.newBuilder().setName("W").setDataType(1).addDims(IN).addDims(classes);
    for (float v : w) {
      wt.addFloatData(v);
    }
    GraphProto g = GraphProto.newBuilder().setName("scores_classifier")
        .addInput(value("x", 1, IN)).addOutput(value("scores", 1, classes)).addInitializer(wt)
        .addNode(NodeProto.newBuilder().setOpType("MatMul").addInput("x").addInput("W").addOutput("scores"))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .build().toByteArray();
  }

  /** Row-major {@code x·W} for one input row. */
  static float[] scores(float[] w, int classes, float[] x) {
    float[] out = new float[classes];
    for (int c = 0; c < classes; c++) {
      for (int i = 0; i < IN; i++) {
        out[c] += x[i] * w[i * classes + c];
      }
    }
    return out;
  }

  /** Top-k (ids, scores) of one input row, as ONNX Runtime's TopK gives them (largest first). */
  public static TopKFusion.Answer topK(float[] w, int classes, int k, float[] x, double weight) {
    float[] logits = scores(w, classes, x);
    long[] ids = new long[k];
    float[] scores = new float[k];
    boolean[] taken = new boolean[classes];
    for (int j = 0; j < k; j++) {
      int best = -1;
      for (int c = 0; c < classes; c++) {
        if (!taken[c] && (best < 0 || logits[c] > logits[best])) {
          best = c;
        }
      }
      taken[best] = true;
      ids[j] = best;
      scores[j] = logits[best];
    }
    return new TopKFusion.Answer(weight, ids, scores);
  }

  private static ValueInfoProto value(String name, int elemType, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width)).build();
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
        .build();
  }
}
