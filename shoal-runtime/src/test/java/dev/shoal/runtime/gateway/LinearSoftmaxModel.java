package dev.shoal.runtime.gateway;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

/**
 * A small real ONNX model for the API tests: {@code probs = softmax(x·W + b)} and {@code logits =
 * x·W + b}, x: float[N,4], with fixed weights so the tests can compute the answer themselves.
 */
public final class LinearSoftmaxModel {

  static final int IN = 4;
  static final int OUT = 3;
  static final float[] W = {0.5f, -1f, 0.25f, 1f, 0.5f, -0.5f, -0.25f, 2f, 1f, 0.75f, 0f, -1.5f};
  static final float[] B = {0.1f, -0.2f, 0.3f};

  private LinearSoftmaxModel() {}

  public static byte[] onnx() {
    TensorProto.Builder wb = TensorProto.newBuilder().setName("W").setDataType(1).addDims(IN).addDims(OUT);
    for (float v : W) {
      wb.addFloatData(v);
    }
    TensorProto.Builder bb = TensorProto.newBuilder().setName("B").setDataType(1).addDims(OUT);
    for (float v : B) {
      bb.addFloatData(v);
    }
    GraphProto g = GraphProto.newBuilder().setName("linear_softmax")
        .addInput(value("x", IN)).addOutput(value("probs", OUT)).addOutput(value("logits", OUT))
        .addInitializer(wb).addInitializer(bb)
        .addNode(NodeProto.newBuilder().setOpType("Gemm").addInput("x").addInput("W").addInput("B").addOutput("logits"))
        .addNode(NodeProto.newBuilder().setOpType("Softmax").addInput("logits").addOutput("probs")
            .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1)))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .build().toByteArray();
  }

  /** The model's answer computed here, row by row, for checking what the API returns. */
  static float[] expectedProbs(float[] x) {
    int rows = x.length / IN;
    float[] out = new float[rows * OUT];
    for (int r = 0; r < rows; r++) {
      double[] logits = new double[OUT];
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < OUT; j++) {
        double s = B[j];
        for (int i = 0; i < IN; i++) {
          s += x[r * IN + i] * W[i * OUT + j];
        }
        logits[j] = s;
        max = Math.max(max, s);
      }
      double sum = 0;
      for (int j = 0; j < OUT; j++) {
        logits[j] = Math.exp(logits[j] - max);
        sum += logits[j];
      }
      for (int j = 0; j < OUT; j++) {
        out[r * OUT + j] = (float) (logits[j] / sum);
      }
    }
    return out;
  }

  private static ValueInfoProto value(String name, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width)).build();
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape)))
        .build();
  }
}
