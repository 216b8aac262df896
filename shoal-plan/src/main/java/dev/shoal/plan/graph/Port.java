package dev.shoal.plan.graph;

/**
 * One end of an edge: a tensor of a node. The node is a stage id, {@link Plan#REQUEST} (the
 * request's input tensor of that name) or {@link Plan#RESPONSE} (the response's output of that name).
 */
public record Port(String node, String tensor) {

  @Override
  public String toString() {
    return node + "/" + tensor;
  }
}
