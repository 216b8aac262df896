package dev.shoal.model.split;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shoal.model.ModelFormatException;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import java.util.List;

/**
 * Fuzzes what {@code shoal split} and {@code shoal serve} do with a model file: read it, build
 * the graph (ONNX Runtime infers the shapes), profile it and split it in two. A bad model must
 * end in one {@link ModelFormatException} saying what is wrong; anything else escaping (or a
 * split whose stages do not read back) is a bug. In CI (regression mode) each runs its committed
 * inputs; {@code JAZZER_FUZZ=1} fuzzes.
 */
class ModelFuzzTest {
  /** A small valid model with branches, two inputs and three outputs: what the mutations start from. */
  private static final ModelProto SEED = ModelZoo.multiInputOutput(8, 4, 3, 1);
  private static final List<String> OPS = List.of("Conv", "Relu", "Gemm", "Concat", "Add", "MaxPool",
      "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Softmax", "MatMul", "Identity", "Bogus");

  /** Mutated bytes of a model file. */
  @FuzzTest(maxDuration = "20s")
  void modelBytes(byte[] data) {
    splitOrRefuse(data);
  }

  /** A valid model with fuzzed structural edits: op types, attributes, shapes, dropped nodes, rewired inputs. */
  @FuzzTest(maxDuration = "20s")
  void editedModels(FuzzedDataProvider in) {
    ModelProto.Builder m = SEED.toBuilder();
    GraphProto.Builder g = m.getGraphBuilder();
    int edits = in.consumeInt(1, 4);
    for (int e = 0; e < edits && g.getNodeCount() > 0; e++) {
      int k = in.consumeInt(0, g.getNodeCount() - 1);
      NodeProto.Builder n = g.getNodeBuilder(k);
      switch (in.consumeInt(0, 5)) {
        case 0 -> n.setOpType(in.pickValue(OPS));
        case 1 -> {
          if (n.getAttributeCount() > 0) {
            AttributeProto.Builder a = n.getAttributeBuilder(in.consumeInt(0, n.getAttributeCount() - 1));
            if (a.getIntsCount() > 0) {
              a.setInts(in.consumeInt(0, a.getIntsCount() - 1), in.consumeLong());
            } else {
              a.setI(in.consumeLong());
            }
          }
        }
        case 2 -> g.removeNode(k);
        case 3 -> {
          if (n.getInputCount() > 0) {
            n.setInput(in.consumeInt(0, n.getInputCount() - 1), in.consumeBoolean() ? in.consumeString(6)
                : g.getNode(in.consumeInt(0, g.getNodeCount() - 1)).getOutput(0));
          }
        }
        case 4 -> {
          ValueInfoProto.Builder v = g.getInputBuilder(in.consumeInt(0, g.getInputCount() - 1));
          TensorShapeProto.Builder s = v.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
          if (s.getDimCount() > 0) {
            s.getDimBuilder(in.consumeInt(0, s.getDimCount() - 1)).setDimValue(in.consumeLong(-2, 1 << 12));
          }
        }
        default -> {
          if (g.getInitializerCount() > 0) {
            var t = g.getInitializerBuilder(in.consumeInt(0, g.getInitializerCount() - 1));
            if (t.getDimsCount() > 0) {
              t.setDims(in.consumeInt(0, t.getDimsCount() - 1), in.consumeLong(-1, 1 << 10));
            }
          }
        }
      }
    }
    splitOrRefuse(m.build().toByteArray());
  }

  private static void splitOrRefuse(byte[] bytes) {
    Split split;
    try {
      ModelGraph graph = ModelGraph.of(OnnxModelIO.parse(bytes, "fuzzed.onnx"), "fuzzed.onnx");
      ModelProfile profile = ModelProfile.of(graph);
      int stages = Math.min(2, graph.nodes().size());
      split = ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, stages));
    } catch (ModelFormatException e) {
      assertThat(e.getMessage()).startsWith("fuzzed.onnx");
      return;
    }
    for (Stage s : split.stages()) {
      assertThat(OnnxModelIO.parse(s.model().toByteArray(), s.fileName()).getGraph().getNodeCount()).isPositive();
    }
  }
}
