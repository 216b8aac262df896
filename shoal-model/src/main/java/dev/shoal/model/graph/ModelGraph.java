package dev.shoal.model.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.DType;
import dev.shoal.model.ModelFormatException;
import dev.shoal.model.io.OnnxModelIO;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The graph IR of an ONNX model: nodes in a fixed topological order (a node's position is its index
 * in {@link #nodes()}), every tensor with element type and shape (see {@link ShapeInference}), and
 * who produces and consumes each tensor.
 *
 * <p><b>The order.</b> ONNX files list nodes in some topological order; for branched graphs that
 * order may open every branch before closing any, which makes every cut between them expensive.
 * We re-order greedily to keep the live set small: at each step, among the nodes whose inputs are
 * ready, take the one that adds the fewest live bytes (its outputs minus the inputs it is the last
 * reader of); on ties, the one reading the most recently produced tensor (finish the branch you
 * are in), then the earliest in the file. So an Inception module runs branch by branch and its
 * Concat follows the last branch. Nodes that depend on no graph input (Constant, shape arithmetic
 * on initializers) are placed lazily, right before their first reader, so constants do not cross
 * cuts for longer than needed.
 *
 * <p><b>Cuts.</b> A cut after position k (k = -1: before the first node) is crossed by every tensor
 * that is available by then (a graph input, or produced at a position &le; k) and still needed
 * (read at a position &gt; k, or a graph output): skip connections and graph outputs produced early
 * included; initializers never cross (each stage holds its own).
 *
 * <p>Control-flow ops with subgraphs (If, Loop, Scan) are rejected: their bodies read outer tensors
 * implicitly, which cutting would have to track.
 */
public final class ModelGraph {

  private final ModelProto model;
  private final String where;
  private final List<GraphNode> nodes;
  private final Map<String, TensorInfo> tensors;
  private final List<String> inputs;
  private final List<String> outputs;
  private final Map<String, Integer> producer = new HashMap<>();
  private final Map<String, List<Integer>> consumers = new HashMap<>();
  /** Position after which a tensor is no longer needed ({@code nodes.size()} for graph outputs). */
  private final Map<String, Integer> lastUse = new HashMap<>();

  private ModelGraph(ModelProto model, String where) {
    OnnxModelIO.check(model, where);
    this.model = model;
    this.where = where;
    GraphProto g = model.getGraph();
    Set<String> initializerNames = new HashSet<>();
    g.getInitializerList().forEach(t -> initializerNames.add(t.getName()));
    List<String> in = new ArrayList<>();
    for (ValueInfoProto v : g.getInputList()) {
      if (!initializerNames.contains(v.getName())) {
        in.add(v.getName());
      }
    }
    this.inputs = List.copyOf(in);
    this.outputs = g.getOutputList().stream().map(ValueInfoProto::getName).toList();
    rejectSubgraphs(g);

    Map<String, ShapeInference.Inferred> inferred =
        ShapeInference.infer(model, new HashSet<>(inputs), where);
    Set<String> outputSet = new HashSet<>(outputs);
    Map<String, TensorInfo> t = new LinkedHashMap<>();
    for (String name : inputs) {
      ShapeInference.Inferred i = inferred.get(name);
      t.put(name, new TensorInfo(name, i.dtype(), i.shape(), i.sampleShape(), TensorInfo.Kind.INPUT,
          outputSet.contains(name)));
    }
    for (TensorProto init : g.getInitializerList()) {
      long[] dims = init.getDimsList().stream().mapToLong(Long::longValue).toArray();
      t.put(init.getName(), new TensorInfo(init.getName(), dtype(init.getDataType(), init.getName(), where),
          dims, dims, TensorInfo.Kind.INITIALIZER, outputSet.contains(init.getName())));
    }
    for (NodeProto n : g.getNodeList()) {
      for (String out : n.getOutputList()) {
        if (out.isEmpty()) {
          continue;
        }
        ShapeInference.Inferred i = inferred.get(out);
        if (i == null) {
          throw new ModelFormatException(where + ": ONNX Runtime did not produce tensor '" + out
              + "' of node '" + n.getName() + "'");
        }
        t.put(out, new TensorInfo(out, i.dtype(), i.shape(), i.sampleShape(),
            TensorInfo.Kind.ACTIVATION, outputSet.contains(out)));
      }
    }
    this.tensors = Collections.unmodifiableMap(t);
    this.nodes = List.copyOf(order(g));
    for (GraphNode n : nodes) {
      for (String out : n.outputs()) {
        if (!out.isEmpty()) {
          producer.put(out, n.position());
        }
      }
      for (String input : new LinkedHashSet<>(n.inputs())) {
        if (!input.isEmpty()) {
          consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(n.position());
          lastUse.merge(input, n.position(), Math::max);
        }
      }
    }
    outputs.forEach(o -> lastUse.put(o, nodes.size()));
  }

  /** Builds the IR of a checked model; {@code where} names it in error messages. */
  public static ModelGraph of(ModelProto model, String where) {
    return new ModelGraph(model, where);
  }

  public static ModelGraph load(Path file) {
    return new ModelGraph(OnnxModelIO.read(file), file.toString());
  }

  /** The model as loaded. */
  public ModelProto model() {
    return model;
  }

  /** What error messages call this model (its file, usually). */
  public String where() {
    return where;
  }

  /** Nodes in the graph's topological order; {@code nodes().get(k).position() == k}. */
  public List<GraphNode> nodes() {
    return nodes;
  }

  public GraphNode node(int position) {
    return nodes.get(position);
  }

  /** Every tensor: inputs, initializers, node outputs. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  public TensorInfo tensor(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(where + ": no tensor '" + name + "'");
    }
    return t;
  }

  /** Graph inputs the caller feeds (initializers listed as inputs excluded), in model order. */
  public List<String> inputs() {
    return inputs;
  }

  /** Graph outputs, in model order. */
  public List<String> outputs() {
    return outputs;
  }

  /** Position of the node producing {@code tensor}, or -1 for inputs and initializers. */
  public int producer(String tensor) {
    return producer.getOrDefault(tensor, -1);
  }

  /** Positions of the nodes reading {@code tensor}, ascending. */
  public List<Integer> consumers(String tensor) {
    return consumers.getOrDefault(tensor, List.of());
  }

  /**
   * The tensors crossing a cut after position {@code k} (-1: before the first node; see the class
   * comment), graph inputs first in model order, then by producing position.
   */
  public List<String> cutTensors(int k) {
    if (k < -1 || k >= nodes.size()) {
      throw new IllegalArgumentException("cut position " + k + " outside -1.." + (nodes.size() - 1));
    }
    List<String> cut = new ArrayList<>();
    for (String in : inputs) {
      if (lastUse.getOrDefault(in, -1) > k) {
        cut.add(in);
      }
    }
    for (int p = 0; p <= k; p++) {
      for (String out : nodes.get(p).outputs()) {
        if (lastUse.getOrDefault(out, -1) > k) {
          cut.add(out);
        }
      }
    }
    return cut;
  }

  /** The model with its nodes in this graph's order, carrying their unique names. */
  public ModelProto orderedModel() {
    GraphProto.Builder g = model.getGraph().toBuilder().clearNode();
    nodes.forEach(n -> g.addNode(n.proto()));
    return model.toBuilder().setGraph(g).build();
  }

  static DType dtype(int onnxCode, String tensor, String where) {
    try {
      return DType.fromOnnx(onnxCode);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(where + ": tensor '" + tensor + "' has unsupported element type "
          + onnxCode);
    }
  }

  private void rejectSubgraphs(GraphProto g) {
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG() || a.getGraphsCount() > 0) {
          throw new ModelFormatException(where + ": node '" + n.getName() + "' (" + n.getOpType()
              + ") has a subgraph; control-flow ops are not supported");
        }
      }
    }
  }

  /** The greedy low-live-bytes topological order of the class comment. */
  private List<GraphNode> order(GraphProto g) {
    List<NodeProto> file = g.getNodeList();
    int n = file.size();
    Map<String, Integer> fileProducer = new HashMap<>();
    for (int i = 0; i < n; i++) {
      for (String out : file.get(i).getOutputList()) {
        if (!out.isEmpty()) {
          fileProducer.put(out, i);
        }
      }
    }
    // nodes depending on no graph input: placed lazily before their first reader
    boolean[] lazy = new boolean[n];
    List<List<Integer>> readers = new ArrayList<>();
    int[] pending = new int[n];
    Map<String, Integer> remainingReaders = new HashMap<>();
    for (int i = 0; i < n; i++) {
      readers.add(new ArrayList<>());
    }
    for (int i = 0; i < n; i++) {
      boolean dependsOnInput = false;
      for (String in : new LinkedHashSet<>(file.get(i).getInputList())) {
        if (in.isEmpty()) {
          continue;
        }
        remainingReaders.merge(in, 1, Integer::sum);
        Integer p = fileProducer.get(in);
        if (inputs.contains(in) || (p != null && !lazy[p])) {
          dependsOnInput = true;
        }
        if (p != null) {
          readers.get(p).add(i);
        }
      }
      lazy[i] = !dependsOnInput;
    }
    for (int i = 0; i < n; i++) {
      for (String in : new LinkedHashSet<>(file.get(i).getInputList())) {
        Integer p = fileProducer.get(in);
        if (p != null && !lazy[p]) {
          pending[i]++;
        }
      }
    }
    Set<String> outputSet = new HashSet<>(outputs);
    Set<String> nodeNames = new HashSet<>();
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      String name = file.get(i).getName();
      if (name.isEmpty() || !nodeNames.add(name)) {
        name = file.get(i).getOpType() + "_" + i;
        while (!nodeNames.add(name)) {
          name = name + "_";
        }
      }
      names[i] = name;
    }

    List<GraphNode> ordered = new ArrayList<>(n);
    boolean[] emitted = new boolean[n];
    Map<String, Integer> producedStep = new HashMap<>();
    Set<Integer> ready = new LinkedHashSet<>();
    for (int i = 0; i < n; i++) {
      if (!lazy[i] && pending[i] == 0) {
        ready.add(i);
      }
    }
    while (!ready.isEmpty()) {
      int best = -1;
      long bestDelta = 0;
      int bestRecency = 0;
      for (int i : ready) {
        long delta = 0;
        int recency = -1;
        for (String out : file.get(i).getOutputList()) {
          if (!out.isEmpty() && (remainingReaders.containsKey(out) || outputSet.contains(out))) {
            delta += tensors.get(out).sampleBytes();
          }
        }
        for (String in : new LinkedHashSet<>(file.get(i).getInputList())) {
          TensorInfo t = in.isEmpty() ? null : tensors.get(in);
          if (t == null || t.kind() == TensorInfo.Kind.INITIALIZER) {
            continue;
          }
          if (remainingReaders.get(in) == 1 && !outputSet.contains(in)) {
            delta -= t.sampleBytes();
          }
          recency = Math.max(recency, producedStep.getOrDefault(in, -1));
        }
        if (best < 0 || delta < bestDelta || (delta == bestDelta && recency > bestRecency)) {
          best = i;
          bestDelta = delta;
          bestRecency = recency;
        }
      }
      ready.remove(best);
      emit(best, file, lazy, emitted, fileProducer, names, ordered, producedStep, remainingReaders);
      for (int r : readers.get(best)) {
        if (!lazy[r] && --pending[r] == 0) {
          ready.add(r);
        }
      }
    }
    for (int i = 0; i < n; i++) {
      if (!emitted[i]) {
        emit(i, file, lazy, emitted, fileProducer, names, ordered, producedStep, remainingReaders);
      }
    }
    return ordered;
  }

  private static void emit(int i, List<NodeProto> file, boolean[] lazy, boolean[] emitted,
      Map<String, Integer> fileProducer, String[] names, List<GraphNode> ordered,
      Map<String, Integer> producedStep, Map<String, Integer> remainingReaders) {
    NodeProto proto = file.get(i);
    for (String in : proto.getInputList()) {
      Integer p = fileProducer.get(in);
      if (p != null && lazy[p] && !emitted[p]) {
        emit(p, file, lazy, emitted, fileProducer, names, ordered, producedStep, remainingReaders);
      }
    }
    emitted[i] = true;
    for (String in : new LinkedHashSet<>(proto.getInputList())) {
      if (!in.isEmpty()) {
        remainingReaders.merge(in, -1, Integer::sum);
      }
    }
    int position = ordered.size();
    for (String out : proto.getOutputList()) {
      producedStep.put(out, position);
    }
    ordered.add(new GraphNode(position, names[i], proto.getOpType(), proto.getInputList(),
        proto.getOutputList(), proto.toBuilder().setName(names[i]).build()));
  }
}
