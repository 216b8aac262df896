package dev.shoal.model.split;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.List;

/**
 * One stage of a {@link Split}: a self-contained ONNX model running positions
 * {@code firstPosition..lastPosition} of the whole model's order.
 *
 * @param inputs tensors it reads from the previous stage (the model inputs for stage 0)
 * @param outputs tensors it sends to the next stage (the model outputs for the last stage),
 *     including tensors it only forwards
 * @param macs multiply-accumulates of its nodes, per sample
 * @param paramBytes bytes of the initializers it holds
 */
public record Stage(
    int index, ModelProto model, List<String> inputs, List<String> outputs, int firstPosition,
    int lastPosition, long macs, long paramBytes) {

  public Stage {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** The stage's file name in a split directory: {@code stage-<index>.onnx}. */
  public String fileName() {
    return "stage-" + index + ".onnx";
  }
}
