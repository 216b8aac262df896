package dev.shoal.train.separable;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.shoal.train.nn.OnnxExport;

/**
 * Convolution (no bias, "same" padding, {@code groups}) + batch norm + optional ReLU, trained whole
 * and exported one device's slice at a time: device {@code part} of {@code parts} gets output
 * channels {@code [part*out/parts, (part+1)*out/parts)} as one ONNX Conv, batch norm folded in. A
 * dense convolution ({@code groups == 1}) reads every input channel, so its input must be on every
 * device (the stem's output); a grouped one ({@code groups} a multiple of {@code parts}) reads only
 * the device's own input slice.
 */
final class SlicedConvBn extends AbstractBlock {

  private static final float BN_EPSILON = 1e-5f;

  private final int outChannels;
  private final int kernel;
  private final int stride;
  private final int groups;
  private final boolean relu;
  private final Conv2d conv;
  private final BatchNorm bn;

  SlicedConvBn(int outChannels, int kernel, int stride, int groups, boolean relu) {
    this.outChannels = outChannels;
    this.kernel = kernel;
    this.stride = stride;
    this.groups = groups;
    this.relu = relu;
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

  int groups() {
    return groups;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDList x = bn.forward(ps, conv.forward(ps, inputs, training, params), training, params);
    return relu ? new NDList(Activation.relu(x.singletonOrThrow())) : x;
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

  /** Exports device {@code part}'s slice reading {@code input}; returns the output's name. */
  String export(OnnxExport out, String input, int part, int parts) {
    if (groups > 1 && groups % parts != 0) {
      throw new IllegalArgumentException(groups + " convolution groups do not split over " + parts + " devices");
    }
    float[] weight = conv.getParameters().get("weight").getArray().toFloatArray();
    float[] gamma = bn.getParameters().get("gamma").getArray().toFloatArray();
    float[] beta = bn.getParameters().get("beta").getArray().toFloatArray();
    float[] mean = bn.getParameters().get("runningMean").getArray().toFloatArray();
    float[] var = bn.getParameters().get("runningVar").getArray().toFloatArray();
    long[] dims = conv.getParameters().get("weight").getArray().getShape().getShape();
    int perFilter = weight.length / outChannels;
    int sliceOut = outChannels / parts;
    int first = part * sliceOut;
    float[] w = new float[sliceOut * perFilter];
    float[] bias = new float[sliceOut];
    for (int o = 0; o < sliceOut; o++) {
      int c = first + o;
      float scale = (float) (gamma[c] / Math.sqrt(var[c] + BN_EPSILON));
      for (int i = 0; i < perFilter; i++) {
        w[o * perFilter + i] = weight[c * perFilter + i] * scale;
      }
      bias[o] = beta[c] - mean[c] * scale;
    }
    String y =
        out.graph()
            .node(
                "Conv",
                input,
                out.weight("conv_w", w, sliceOut, dims[1], dims[2], dims[3]),
                out.weight("conv_b", bias, sliceOut))
            .ints("kernel_shape", kernel, kernel)
            .ints("strides", stride, stride)
            .ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2)
            .attr("group", (long) (groups == 1 ? 1 : groups / parts))
            .out();
    return relu ? out.graph().node("Relu", y).out() : y;
  }

  /** Multiply-accumulates of the whole convolution for one sample of {@code input} shape. */
  long macs(Shape input) {
    Shape o = getOutputShapes(new Shape[] {input})[0];
    return o.get(2) * o.get(3) * outChannels * (input.get(1) / groups) * kernel * kernel;
  }
}
