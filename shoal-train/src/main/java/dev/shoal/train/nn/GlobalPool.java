package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Global average pooling to a {@code [N, C]} feature vector. */
public final class GlobalPool extends ExportableBlock {

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray pooled = Pool.globalAvgPool2d(x);
    return new NDList(pooled.reshape(x.getShape().get(0), x.getShape().get(1)));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(inputs[0].get(0), inputs[0].get(1))};
  }

  @Override
  public String export(OnnxExport out, String input) {
    String pooled = out.graph().node("GlobalAveragePool", input).out();
    return out.graph().node("Flatten", pooled).attr("axis", 1L).out();
  }

  @Override
  public long macs(Shape input) {
    return 0;
  }
}
