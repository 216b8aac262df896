package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Global average or max pooling to a {@code [N, C]} feature vector. */
public final class GlobalPool extends ExportableBlock {

  /** Average (the usual classifier head) or max (the variant heads of the VP paper's code). */
  public enum Kind {
    AVG,
    MAX
  }

  private final Kind kind;

  public GlobalPool(Kind kind) {
    this.kind = kind;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray pooled = kind == Kind.AVG ? Pool.globalAvgPool2d(x) : Pool.globalMaxPool2d(x);
    return new NDList(pooled.reshape(x.getShape().get(0), x.getShape().get(1)));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(inputs[0].get(0), inputs[0].get(1))};
  }

  @Override
  public String export(OnnxExport out, String input) {
    String pooled =
        out.graph().node(kind == Kind.AVG ? "GlobalAveragePool" : "GlobalMaxPool", input).out();
    return out.graph().node("Flatten", pooled).attr("axis", 1L).out();
  }

  @Override
  public long macs(Shape input) {
    return 0;
  }
}
