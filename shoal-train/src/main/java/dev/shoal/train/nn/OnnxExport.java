package dev.shoal.train.nn;

import dev.shoal.model.build.GraphBuilder;

/**
 * The graph a network is being exported into, with unique names for the weights each block adds.
 */
public final class OnnxExport {

  private final GraphBuilder graph;
  private int counter;

  public OnnxExport(GraphBuilder graph) {
    this.graph = graph;
  }

  public GraphBuilder graph() {
    return graph;
  }

  /** Adds a float initializer named after {@code hint} plus a counter; returns its name. */
  public String weight(String hint, float[] values, long... dims) {
    return graph.initializer(hint + "_" + counter++, values, dims);
  }

  /** Adds an int64 initializer named after {@code hint} plus a counter; returns its name. */
  public String int64(String hint, long[] values, long... dims) {
    return graph.initializerInt64(hint + "_" + counter++, values, dims);
  }
}
