package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.codec.TensorCodec;
import java.util.List;

/**
 * One stage ready to deploy: the worker, the stage's self-contained ONNX model, its input and
 * output tensor names (empty: not checked), the codec of the link leaving it, and its compute per
 * frame on the planner's reference host ({@code referenceSeconds}, 0 when unknown; a worker
 * emulating a slower device scales this).
 */
public record PlannedStage(
    WorkerEndpoint worker,
    byte[] onnxModel,
    List<String> inputNames,
    List<String> outputNames,
    TensorCodec outputCodec,
    String layers,
    double referenceSeconds) {

  /** A stage without a reference compute time. */
  public PlannedStage(WorkerEndpoint worker, byte[] onnxModel, List<String> inputNames, List<String> outputNames,
      TensorCodec outputCodec, String layers) {
    this(worker, onnxModel, inputNames, outputNames, outputCodec, layers, 0);
  }
}
