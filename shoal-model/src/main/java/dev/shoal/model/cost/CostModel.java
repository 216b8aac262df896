package dev.shoal.model.cost;

import ai.onnx.proto.OnnxMl.AttributeProto;
import dev.shoal.model.TensorData;
import dev.shoal.model.graph.GraphNode;
import dev.shoal.model.graph.ModelGraph;
import java.util.Set;

/**
 * Multiply-accumulates of one node for one sample, from the exact batch-1 shapes of its tensors.
 *
 * <ul>
 *   <li>Conv: output elements x (Cin / groups) x kernel size, i.e. Cout·Hout·Wout·(Cin/g)·kh·kw
 *       (grouped and depthwise convolutions included, any number of spatial dims).
 *   <li>ConvTranspose: input elements x (Cout / groups) x kernel size.
 *   <li>Gemm: M·N·K; MatMul: output elements x K (batched and broadcast MatMul included).
 *   <li>{@link #ZERO_MAC_OPS}: 0. They are element-wise, data-movement, pooling, normalisation or
 *       shape ops: memory-bound and small next to convolutions and matrix products; their time shows
 *       in the measured profile ({@code shoal profile --measure}), not in MACs.
 * </ul>
 *
 * Any other op has no rule. Because a MAC-balanced split of a model with an uncounted heavy op
 * (LSTM, Einsum, Attention) would be silently wrong, the default is to reject such a node with
 * {@link UnknownOpCostException} naming the op and the node; {@link UnknownOps#COUNT_ZERO} (CLI
 * {@code --allow-unknown-ops}) counts it as 0 and lists it in the profile instead.
 */
public final class CostModel {

  /** What to do with an op that has no cost rule. */
  public enum UnknownOps {
    REJECT,
    COUNT_ZERO
  }

  /** Ops counted as 0 MACs (see the class comment). */
  public static final Set<String> ZERO_MAC_OPS = Set.of(
      // element-wise and activations
      "Abs", "Add", "And", "BitShift", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Div", "Elu",
      "Equal", "Erf", "Exp", "Floor", "Gelu", "Greater", "GreaterOrEqual", "HardSigmoid",
      "HardSwish", "IsInf", "IsNaN", "LeakyRelu", "Less", "LessOrEqual", "Log", "Max", "Mean", "Min",
      "Mish", "Mod", "Mul", "Neg", "Not", "Or", "Pow", "PRelu", "Reciprocal", "Relu", "Round",
      "Selu", "Shrink", "Sigmoid", "Sign", "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Tanh",
      "ThresholdedRelu", "Where", "Xor", "Dropout", "Identity",
      // softmax and normalisation
      "Softmax", "LogSoftmax", "Hardmax", "BatchNormalization", "LayerNormalization",
      "InstanceNormalization", "GroupNormalization", "LpNormalization", "LRN",
      "MeanVarianceNormalization",
      // pooling and reductions
      "AveragePool", "MaxPool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
      "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare",
      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin", "TopK",
      "CumSum",
      // data movement and shapes
      "Concat", "Constant", "ConstantOfShape", "DepthToSpace", "Expand", "EyeLike", "Flatten",
      "Gather", "GatherElements", "GatherND", "NonZero", "OneHot", "Pad", "Range", "Reshape",
      "Resize", "ScatterElements", "ScatterND", "Shape", "Size", "Slice", "SpaceToDepth", "Split",
      "Squeeze", "Tile", "Transpose", "Trilu", "Unsqueeze", "Upsample");

  private static final Set<String> MAC_OPS = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul");

  private CostModel() {}

  /**
   * MACs of {@code node} for one sample.
   *
   * @throws UnknownOpCostException for an op without a rule when {@code unknown} is REJECT
   */
  public static long macs(ModelGraph graph, GraphNode node, UnknownOps unknown) {
    return switch (node.opType()) {
      case "Conv" -> {
        long[] w = shape(graph, node, 1);
        yield elements(graph, node.outputs().get(0)) * kernelVolume(w);
      }
      case "ConvTranspose" -> {
        long[] w = shape(graph, node, 1);
        yield elements(graph, node.input(0)) * kernelVolume(w);
      }
      case "Gemm" -> {
        long[] a = shape(graph, node, 0);
        boolean transA = intAttr(node, "transA") != 0;
        long k = transA ? a[0] : a[a.length - 1];
        yield elements(graph, node.outputs().get(0)) * k;
      }
      case "MatMul" -> {
        long[] a = shape(graph, node, 0);
        yield elements(graph, node.outputs().get(0)) * a[a.length - 1];
      }
      default -> {
        if (ZERO_MAC_OPS.contains(node.opType()) || unknown == UnknownOps.COUNT_ZERO) {
          yield 0;
        }
        throw new UnknownOpCostException(graph.where() + ": no cost rule for op '" + node.opType()
            + "' (node '" + node.name() + "', position " + node.position()
            + "); use --allow-unknown-ops to count it as 0 MACs");
      }
    };
  }

  /** Whether {@code opType} has a cost rule (possibly 0 MACs). */
  public static boolean hasRule(String opType) {
    return ZERO_MAC_OPS.contains(opType) || MAC_OPS.contains(opType);
  }

  /** Dimension 1 times the spatial dims of a [out, in/groups, k...] or [in, out/groups, k...] weight. */
  private static long kernelVolume(long[] w) {
    long v = 1;
    for (int i = 1; i < w.length; i++) {
      v *= w[i];
    }
    return v;
  }

  private static long[] shape(ModelGraph graph, GraphNode node, int input) {
    return graph.tensor(node.input(input)).sampleShape();
  }

  private static long intAttr(GraphNode node, String name) {
    for (AttributeProto a : node.proto().getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getI();
      }
    }
    return 0;
  }

  private static long elements(ModelGraph graph, String tensor) {
    return TensorData.elementCount(graph.tensor(tensor).sampleShape());
  }
}
