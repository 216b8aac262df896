package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** The activation after a convolution: none, ReLU, or ReLU6 (MobileNetV2's). */
public enum Act {
  NONE,
  RELU,
  RELU6;

  NDArray apply(NDArray x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> Activation.relu(x);
      case RELU6 -> Activation.relu6(x);
    };
  }

  String export(OnnxExport out, String x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> out.graph().node("Relu", x).out();
      case RELU6 ->
          out.graph()
              .node("Clip", x, out.weight("relu6_min", new float[] {0f}), out.weight("relu6_max", new float[] {6f}))
              .out();
    };
  }
}
