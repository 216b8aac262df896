package dev.shoal.model.cost;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.model.graph.GraphNode;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.TensorInfo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Per-node costs of a {@link ModelGraph} along its topological order, all for one sample: the
 * profile the planner linearises and the {@code shoal profile} command prints.
 */
public final class ModelProfile {

  private final ModelGraph graph;
  private final List<NodeCost> nodes;
  private final long totalParamBytes;
  private final long inputBytes;
  private final List<String> uncountedOps;

  private ModelProfile(ModelGraph graph, CostModel.UnknownOps unknown) {
    this.graph = graph;
    List<NodeCost> costs = new ArrayList<>();
    Set<String> uncounted = new TreeSet<>();
    for (GraphNode n : graph.nodes()) {
      long params = 0;
      long work = 0;
      for (String in : new LinkedHashSet<>(n.inputs())) {
        if (in.isEmpty()) {
          continue;
        }
        TensorInfo t = graph.tensor(in);
        if (t.kind() == TensorInfo.Kind.INITIALIZER) {
          params += t.sampleBytes();
        } else {
          work += t.sampleBytes();
        }
      }
      long out = 0;
      for (String o : n.outputs()) {
        if (!o.isEmpty()) {
          out += graph.tensor(o).sampleBytes();
        }
      }
      long macs = CostModel.macs(graph, n, unknown);
      if (!CostModel.hasRule(n.opType())) {
        uncounted.add(n.opType());
      }
      costs.add(new NodeCost(n.position(), n.name(), n.opType(), macs, params, out, work + out,
          bytes(graph.cutTensors(n.position()))));
    }
    this.nodes = List.copyOf(costs);
    this.uncountedOps = List.copyOf(uncounted);
    long total = 0;
    Set<String> seen = new HashSet<>();
    for (GraphNode n : graph.nodes()) {
      for (String in : n.inputs()) {
        if (!in.isEmpty() && graph.tensor(in).kind() == TensorInfo.Kind.INITIALIZER && seen.add(in)) {
          total += graph.tensor(in).sampleBytes();
        }
      }
    }
    this.totalParamBytes = total;
    this.inputBytes = bytes(graph.inputs());
  }

  /** Profiles {@code graph}, rejecting ops without a cost rule. */
  public static ModelProfile of(ModelGraph graph) {
    return new ModelProfile(graph, CostModel.UnknownOps.REJECT);
  }

  public static ModelProfile of(ModelGraph graph, CostModel.UnknownOps unknown) {
    return new ModelProfile(graph, unknown);
  }

  public ModelGraph graph() {
    return graph;
  }

  /** One entry per node, {@code nodes().get(k).position() == k}. */
  public List<NodeCost> nodes() {
    return nodes;
  }

  public long totalMacs() {
    return nodes.stream().mapToLong(NodeCost::macs).sum();
  }

  /** Bytes of all initializers read by some node, each counted once. */
  public long totalParamBytes() {
    return totalParamBytes;
  }

  /** Bytes of one sample of the graph inputs. */
  public long inputBytes() {
    return inputBytes;
  }

  /** Ops counted as 0 MACs for lack of a rule (only with {@code UnknownOps.COUNT_ZERO}). */
  public List<String> uncountedOps() {
    return uncountedOps;
  }

  /** MACs of positions {@code first..last}, inclusive. */
  public long macs(int first, int last) {
    long sum = 0;
    for (int k = first; k <= last; k++) {
      sum += nodes.get(k).macs();
    }
    return sum;
  }

  /**
   * The profile as JSON: {@code {"nodes":[{"position","name","op","macs","paramBytes","outBytes",
   * "workBytes","cutBytes"[,"seconds"]}],"totalMacs","totalParamBytes","inputBytes"
   * [,"uncountedOps"]}}; {@code seconds} (one per node, or null) adds measured times.
   */
  public String toJson(double[] seconds) {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    ArrayNode list = root.putArray("nodes");
    for (NodeCost c : nodes) {
      ObjectNode o = list.addObject();
      o.put("position", c.position());
      o.put("name", c.name());
      o.put("op", c.op());
      o.put("macs", c.macs());
      o.put("paramBytes", c.paramBytes());
      o.put("outBytes", c.outBytes());
      o.put("workBytes", c.workBytes());
      o.put("cutBytes", c.cutBytes());
      if (seconds != null) {
        o.put("seconds", seconds[c.position()]);
      }
    }
    root.put("totalMacs", totalMacs());
    root.put("totalParamBytes", totalParamBytes);
    root.put("inputBytes", inputBytes);
    if (!uncountedOps.isEmpty()) {
      uncountedOps.forEach(root.putArray("uncountedOps")::add);
    }
    try {
      return mapper.writeValueAsString(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise profile", e);
    }
  }

  private long bytes(List<String> tensorNames) {
    return tensorNames.stream().mapToLong(t -> graph.tensor(t).sampleBytes()).sum();
  }
}
