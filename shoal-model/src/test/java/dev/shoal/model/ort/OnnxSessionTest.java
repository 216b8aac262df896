package dev.shoal.model.ort;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxSessionTest {

  /** y = relu(x + b) with x: float[N,3], b a constant initializer. */
  private static byte[] addRelu() {
    return addRelu("x", "y");
  }

  private static byte[] addRelu(String x, String y) {
    TensorProto b = TensorProto.newBuilder().setName("b").setDataType(1).addDims(3)
        .addFloatData(1f).addFloatData(-1f).addFloatData(0.5f).build();
    GraphProto g = GraphProto.newBuilder().setName("g")
        .addInput(value(x)).addOutput(value(y)).addInitializer(b)
        .addNode(NodeProto.newBuilder().setOpType("Add").addInput(x).addInput("b").addOutput("s"))
        .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("s").addOutput(y))
        .build();
    return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .build().toByteArray();
  }

  private static ValueInfoProto value(String name) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3)).build();
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
  }

  @Test
  void runsAModelAndReportsItsSignature() {
    try (OnnxSession s = OnnxSession.open(addRelu(), OnnxSession.Options.DEFAULT)) {
      assertThat(s.inputs()).singleElement().satisfies(in -> {
        assertThat(in.name()).isEqualTo("x");
        assertThat(in.dtype()).isEqualTo(DType.FLOAT);
        assertThat(in.shape()).containsExactly(-1, 3);
      });
      Map<String, TensorData> out = s.run(Map.of("x",
          TensorData.ofFloats("x", new long[] {2, 3}, new float[] {0, 0, 0, -5, 5, -1})));
      assertThat(out.get("y").shape()).containsExactly(2, 3);
      assertThat(out.get("y").floats()).containsExactly(1f, 0f, 0.5f, 0f, 4f, 0f);
    }
  }

  @Test
  void namesTheProblemWithABadInput() {
    try (OnnxSession s = OnnxSession.open(addRelu(), OnnxSession.Options.DEFAULT)) {
      assertThatThrownBy(() -> s.run(Map.of()))
          .isInstanceOf(OnnxRuntimeError.class).hasMessageContaining("missing input 'x'");
      assertThatThrownBy(() -> s.run(Map.of("x",
              TensorData.ofFloats("x", new long[] {1, 4}, new float[4]))))
          .isInstanceOf(OnnxRuntimeError.class).hasMessageContaining("input 'x' is FLOAT[1, 4]");
    }
  }

  @Test
  void chainsSessionsByTensorName() {
    try (OnnxSession first = OnnxSession.open(addRelu("x", "h"), OnnxSession.Options.DEFAULT);
        OnnxSession second = OnnxSession.open(addRelu("h", "y"), OnnxSession.Options.DEFAULT);
        OnnxSession stray = OnnxSession.open(addRelu("x", "y"), OnnxSession.Options.DEFAULT)) {
      TensorData x = TensorData.ofFloats("x", new long[] {1, 3}, new float[] {0, 2, -3});
      // relu(relu(x + b) + b) with b = (1, -1, 0.5)
      assertThat(OnnxSession.runChained(List.of(first, second), Map.of("x", x)).get("y").floats())
          .containsExactly(2f, 0f, 0.5f);
      assertThatThrownBy(() -> OnnxSession.runChained(List.of(first, stray), Map.of("x", x)))
          .isInstanceOf(OnnxRuntimeError.class).hasMessageContaining("session 1 of the chain needs 'x'");
    }
  }

  @Test
  void rejectsBytesThatAreNotAModel() {
    assertThatThrownBy(() -> OnnxSession.open(new byte[] {1, 2, 3, 4}, OnnxSession.Options.DEFAULT))
        .isInstanceOf(OnnxRuntimeError.class).hasMessageContaining("rejected the model");
  }
}
