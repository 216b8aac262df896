package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.codec.TensorCodec;
import java.util.List;

/**
 * One stage ready to deploy: the worker, the stage's self-contained ONNX model, its input and
 * output tensor names (empty: not checked) and the codec of the link leaving it.
 */
public record PlannedStage(
    WorkerEndpoint worker,
    byte[] onnxModel,
    List<String> inputNames,
    List<String> outputNames,
    TensorCodec outputCodec,
    String layers) {}
