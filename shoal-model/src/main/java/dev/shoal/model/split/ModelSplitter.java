package dev.shoal.model.split;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.model.graph.GraphNode;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cuts a model into a chain of self-contained stage models along its {@link ModelGraph} order.
 *
 * <p>A stage holds only its nodes and the initializers they read, declares its inputs and outputs
 * with element types and shapes (batch dimension symbolic: {@code "N"}; any other dimension that
 * follows the batch is left unnamed), and keeps the model's IR version, opsets and functions.
 *
 * <p><b>Forwarding.</b> The runtime is a chain: each stage sends only to the next. A stage's
 * outputs are therefore exactly the tensors crossing the cut after it ({@link
 * ModelGraph#cutTensors}), and a tensor needed two or more stages later (a skip connection, an
 * early graph output, a model input used late) is forwarded by the stages in between: it is both a
 * graph input and a graph output of such a stage, under its own name (ONNX Runtime accepts a graph
 * input listed as a graph output, so no Identity node or renaming is needed). Tensor names are the
 * same in every stage and in the whole model.
 */
public final class ModelSplitter {

  /** {@link #balancedCuts} accepts a bottleneck this much above the best to get smaller cuts. */
  public static final double BALANCE_TOLERANCE = 0.05;

  private ModelSplitter() {}

  /**
   * Splits after each of the given positions (strictly increasing, each in 0..nodes-2); no cuts
   * gives a single stage equal to the whole model.
   *
   * @throws IllegalArgumentException naming the bad cut position
   */
  public static Split split(ModelProfile profile, int... cutsAfter) {
    ModelGraph graph = profile.graph();
    int n = graph.nodes().size();
    checkCuts(cutsAfter, n);
    ModelProto model = graph.model();
    Map<String, TensorProto> initializers = new HashMap<>();
    model.getGraph().getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Map<String, ValueInfoProto> declaredInputs = new HashMap<>();
    model.getGraph().getInputList().forEach(v -> declaredInputs.put(v.getName(), v));

    List<Stage> stages = new ArrayList<>();
    for (int s = 0; s <= cutsAfter.length; s++) {
      int first = s == 0 ? 0 : cutsAfter[s - 1] + 1;
      int last = s == cutsAfter.length ? n - 1 : cutsAfter[s];
      List<String> inputs = s == 0 ? graph.inputs() : graph.cutTensors(first - 1);
      List<String> outputs = s == cutsAfter.length ? graph.outputs() : graph.cutTensors(last);

      GraphProto.Builder g = GraphProto.newBuilder()
          .setName(model.getGraph().getName() + "_stage" + s);
      inputs.forEach(t -> g.addInput(valueInfo(graph.tensor(t))));
      Set<String> weights = new LinkedHashSet<>();
      for (int k = first; k <= last; k++) {
        GraphNode node = graph.node(k);
        g.addNode(node.proto());
        for (String in : node.inputs()) {
          if (initializers.containsKey(in)) {
            weights.add(in);
          }
        }
      }
      for (String out : outputs) {
        if (initializers.containsKey(out)) {
          weights.add(out); // a model output that is a stored constant
        }
      }
      long paramBytes = 0;
      for (String w : weights) {
        g.addInitializer(initializers.get(w));
        paramBytes += graph.tensor(w).sampleBytes();
        if (model.getIrVersion() < 4 && declaredInputs.containsKey(w)) {
          g.addInput(declaredInputs.get(w)); // before IR 4 every initializer is also an input
        }
      }
      outputs.forEach(t -> g.addOutput(valueInfo(graph.tensor(t))));
      ModelProto stageModel = model.toBuilder().setGraph(g).build();
      stages.add(new Stage(s, stageModel, inputs, outputs, first, last, profile.macs(first, last),
          paramBytes));
    }
    return new Split(stages, graph.inputs(), graph.outputs());
  }

  /**
   * How many MACs sending one byte to the next stage is taken to cost when {@link #balancedCuts}
   * weighs cuts. Measured in-process on a 2-core x86 machine, copying a tensor between two ONNX
   * Runtime sessions costs about as much per byte as 25 MACs of MobileNetV2; a 1 Gbit/s link next to
   * a 10 GMAC/s device is 80 MACs per byte, a 100 Mbit/s one 800. 32 keeps both in view without
   * letting transfers dominate; the planner (shoal-plan) does the real, bandwidth-aware placement.
   */
  public static final long MACS_PER_BYTE = 32;

  /** {@link #balancedCuts(ModelProfile, int, long)} with {@link #MACS_PER_BYTE}. */
  public static int[] balancedCuts(ModelProfile profile, int stages) {
    return balancedCuts(profile, stages, MACS_PER_BYTE);
  }

  /**
   * Cut positions for {@code stages} stages that balance MACs while preferring small cuts. A stage's
   * cost is its MACs plus {@code macsPerByte} times the bytes it sends to the next stage. First the
   * smallest achievable bottleneck (the largest stage cost) B is found; then, among all cut sets
   * whose every stage costs at most B·(1 + {@link #BALANCE_TOLERANCE}), the one with the fewest
   * bytes crossing its cuts is returned. With {@code macsPerByte} 0 this balances MACs alone.
   */
  public static int[] balancedCuts(ModelProfile profile, int stages, long macsPerByte) {
    List<NodeCost> nodes = profile.nodes();
    int n = nodes.size();
    if (stages < 1 || stages > n) {
      throw new IllegalArgumentException(
          "cannot make " + stages + " stages from a model of " + n + " nodes (need 1.." + n + ")");
    }
    long[] prefix = new long[n + 1];
    for (int i = 0; i < n; i++) {
      prefix[i + 1] = prefix[i] + nodes.get(i).macs();
    }
    long[] send = new long[n]; // what a stage ending at j pays for sending its cut
    for (int j = 0; j < n - 1; j++) {
      send[j] = macsPerByte * nodes.get(j).cutBytes();
    }
    // best[s][j]: smallest bottleneck of s+1 stages covering positions 0..j
    long[][] best = new long[stages][n];
    for (int j = 0; j < n; j++) {
      best[0][j] = prefix[j + 1] + send[j];
    }
    for (int s = 1; s < stages; s++) {
      Arrays.fill(best[s], Long.MAX_VALUE);
      for (int j = s; j < n; j++) {
        for (int i = s; i <= j; i++) { // last stage is i..j
          long cost = Math.max(best[s - 1][i - 1], prefix[j + 1] - prefix[i] + send[j]);
          best[s][j] = Math.min(best[s][j], cost);
        }
      }
    }
    double bound = best[stages - 1][n - 1] * (1 + BALANCE_TOLERANCE);
    // bytes[s][j]: fewest cut bytes of s+1 stages covering 0..j, each within the bound
    long[][] bytes = new long[stages][n];
    int[][] from = new int[stages][n];
    for (long[] row : bytes) {
      Arrays.fill(row, Long.MAX_VALUE);
    }
    for (int j = 0; j < n; j++) {
      if (prefix[j + 1] + send[j] <= bound) {
        bytes[0][j] = 0;
      }
    }
    for (int s = 1; s < stages; s++) {
      for (int j = s; j < n; j++) {
        for (int i = s; i <= j; i++) {
          if (bytes[s - 1][i - 1] == Long.MAX_VALUE || prefix[j + 1] - prefix[i] + send[j] > bound) {
            continue;
          }
          long total = bytes[s - 1][i - 1] + nodes.get(i - 1).cutBytes();
          if (total < bytes[s][j]) {
            bytes[s][j] = total;
            from[s][j] = i;
          }
        }
      }
    }
    int[] cuts = new int[stages - 1];
    int j = n - 1;
    for (int s = stages - 1; s > 0; s--) {
      int i = from[s][j];
      cuts[s - 1] = i - 1;
      j = i - 1;
    }
    return cuts;
  }

  private static void checkCuts(int[] cuts, int nodes) {
    for (int i = 0; i < cuts.length; i++) {
      if (cuts[i] < 0 || cuts[i] > nodes - 2) {
        throw new IllegalArgumentException("cut position " + cuts[i] + " is out of range: the model has "
            + nodes + " nodes, so cuts go after positions 0.." + (nodes - 2));
      }
      if (i > 0 && cuts[i] <= cuts[i - 1]) {
        throw new IllegalArgumentException("cut positions must be strictly increasing, got "
            + cuts[i - 1] + " then " + cuts[i]);
      }
    }
  }

  private static ValueInfoProto valueInfo(TensorInfo t) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (int i = 0; i < t.shape().length; i++) {
      long d = t.shape()[i];
      TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
      if (d >= 0) {
        dim.setDimValue(d);
      } else if (t.sampleShape()[i] == 1) {
        dim.setDimParam(GraphBuilder.BATCH_DIM);
      }
      shape.addDim(dim);
    }
    return ValueInfoProto.newBuilder()
        .setName(t.name())
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(t.dtype().onnxCode()).setShape(shape)))
        .build();
  }
}
