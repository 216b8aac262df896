package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * MobileNetV2's inverted residual: 1x1 expansion (skipped when the ratio is 1), depthwise kxk with
 * stride, linear 1x1 projection; a skip connection when the shape is kept.
 */
public final class InvertedResidual extends ExportableBlock {

  private final int inChannels;
  private final int outChannels;
  private final int stride;
  private final Chain body;

  public InvertedResidual(int inChannels, int outChannels, int expansion, int stride, int kernel) {
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = stride;
    int hidden = inChannels * expansion;
    Chain chain = new Chain();
    if (expansion != 1) {
      chain.add(ConvBn.dense(hidden, 1, 1, Act.RELU6));
    }
    chain.add(ConvBn.depthwise(hidden, kernel, stride, Act.RELU6));
    chain.add(ConvBn.dense(outChannels, 1, 1, Act.NONE));
    this.body = addChildBlock("body", chain);
  }

  private boolean residual() {
    return stride == 1 && inChannels == outChannels;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray y = body.forward(ps, inputs, training, params).singletonOrThrow();
    return new NDList(residual() ? y.add(inputs.singletonOrThrow()) : y);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return body.getOutputShapes(inputs);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    body.initialize(manager, dataType, inputShapes);
  }

  @Override
  public String export(OnnxExport out, String input) {
    String y = body.export(out, input);
    return residual() ? out.graph().node("Add", y, input).out() : y;
  }

  @Override
  public long macs(Shape input) {
    return body.macs(input);
  }
}
