package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Convolution (square kernel, "same" padding, optional groups for depthwise) without bias, batch
 * norm, activation. Exported as one ONNX Conv with the batch norm folded into weights and bias.
 */
public final class ConvBn extends ExportableBlock {

  private static final float BN_EPSILON = 1e-5f;

  private final int outChannels;
  private final int kernel;
  private final int stride;
  private final int groups;
  private final Act act;
  private final Conv2d conv;
  private final BatchNorm bn;

  public ConvBn(int outChannels, int kernel, int stride, int groups, Act act) {
    this.outChannels = outChannels;
    this.kernel = kernel;
    this.stride = stride;
    this.groups = groups;
    this.act = act;
    this.conv =
        addChildBlock(
            "conv",
            Conv2d.builder()
                .setKernelShape(new Shape(kernel, kernel))
                .optStride(new Shape(stride, stride))
                .optPadding(new Shape(kernel / 2, kernel / 2))
                .setFilters(outChannels)
                .optGroups(groups)
                .optBias(false)
                .build());
    this.bn = addChildBlock("bn", BatchNorm.builder().optEpsilon(BN_EPSILON).build());
  }

  /** A dense convolution. */
  public static ConvBn dense(int outChannels, int kernel, int stride, Act act) {
    return new ConvBn(outChannels, kernel, stride, 1, act);
  }

  /** A depthwise convolution over {@code channels} channels. */
  public static ConvBn depthwise(int channels, int kernel, int stride, Act act) {
    return new ConvBn(channels, kernel, stride, channels, act);
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDList x = conv.forward(ps, inputs, training, params);
    x = bn.forward(ps, x, training, params);
    return new NDList(act.apply(x.singletonOrThrow()));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return conv.getOutputShapes(inputs);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    conv.initialize(manager, dataType, inputShapes);
    bn.initialize(manager, dataType, conv.getOutputShapes(inputShapes));
  }

  @Override
  public String export(OnnxExport out, String input) {
    NDArray w = conv.getParameters().get("weight").getArray();
    float[] weight = w.toFloatArray();
    float[] gamma = bn.getParameters().get("gamma").getArray().toFloatArray();
    float[] beta = bn.getParameters().get("beta").getArray().toFloatArray();
    float[] mean = bn.getParameters().get("runningMean").getArray().toFloatArray();
    float[] var = bn.getParameters().get("runningVar").getArray().toFloatArray();
    int perFilter = weight.length / outChannels;
    float[] bias = new float[outChannels];
    for (int o = 0; o < outChannels; o++) {
      float scale = (float) (gamma[o] / Math.sqrt(var[o] + BN_EPSILON));
      for (int i = 0; i < perFilter; i++) {
        weight[o * perFilter + i] *= scale;
      }
      bias[o] = beta[o] - mean[o] * scale;
    }
    long[] dims = w.getShape().getShape();
    String y =
        out.graph()
            .node("Conv", input, out.weight("conv_w", weight, dims), out.weight("conv_b", bias, outChannels))
            .ints("kernel_shape", kernel, kernel)
            .ints("strides", stride, stride)
            .ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2)
            .attr("group", (long) groups)
            .out();
    return act.export(out, y);
  }

  @Override
  public long macs(Shape input) {
    Shape o = outputShape(input);
    long inChannels = input.get(1);
    return o.get(2) * o.get(3) * outChannels * (inChannels / groups) * kernel * kernel;
  }
}
