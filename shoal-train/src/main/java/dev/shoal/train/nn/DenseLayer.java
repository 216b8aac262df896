package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * DenseNet's layer: a 3x3 conv-BN-ReLU of {@code growth} channels whose output is concatenated to
 * its input along the channels, so every later layer of the block reads every earlier one's maps.
 */
public final class DenseLayer extends ExportableBlock {

  private final int growth;
  private final ConvBn body;

  public DenseLayer(int growth) {
    this.growth = growth;
    this.body = addChildBlock("body", ConvBn.dense(growth, 3, 1, Act.RELU));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray y = body.forward(ps, inputs, training, params).singletonOrThrow();
    return new NDList(NDArrays.concat(new NDList(x, y), 1));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape in = inputs[0];
    return new Shape[] {new Shape(in.get(0), in.get(1) + growth, in.get(2), in.get(3))};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    body.initialize(manager, dataType, inputShapes);
  }

  @Override
  public String export(OnnxExport out, String input) {
    String y = body.export(out, input);
    return out.graph().node("Concat", input, y).attr("axis", 1L).out();
  }

  @Override
  public long macs(Shape input) {
    return body.macs(input);
  }
}
