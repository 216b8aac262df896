package dev.shoal.train.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Non-overlapping square max pooling ({@code size x size}, stride {@code size}). */
public final class MaxPool extends ExportableBlock {

  private final int size;

  public MaxPool(int size) {
    this.size = size;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    return new NDList(
        Pool.maxPool2d(
            inputs.singletonOrThrow(), new Shape(size, size), new Shape(size, size), new Shape(0, 0), false));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape s = inputs[0];
    return new Shape[] {new Shape(s.get(0), s.get(1), s.get(2) / size, s.get(3) / size)};
  }

  @Override
  public String export(OnnxExport out, String input) {
    return out.graph()
        .node("MaxPool", input)
        .ints("kernel_shape", size, size)
        .ints("strides", size, size)
        .out();
  }

  @Override
  public long macs(Shape input) {
    return 0;
  }
}
