package dev.shoal.model.graph;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;

/**
 * A node of a {@link ModelGraph} at its position in the graph's topological order. {@code name} is
 * unique in the graph (generated as {@code <op>_<file index>} where the file has none or a
 * duplicate) and {@code proto} carries that name. {@code inputs} keeps ONNX's positional order,
 * with "" for an omitted optional input.
 */
public record GraphNode(
    int position, String name, String opType, List<String> inputs, List<String> outputs,
    NodeProto proto) {

  public GraphNode {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** The i-th input's name, or "" when absent. */
  public String input(int i) {
    return i < inputs.size() ? inputs.get(i) : "";
  }
}
