package dev.shoal.plan.graph;

import java.util.List;

/**
 * One stage: an ONNX sub-model with named inputs and outputs, placed on one device or, replicated,
 * on several (requests dealt round robin: request k runs on replica {@code k mod devices}).
 *
 * @param optional an optional stage's loss degrades the answer (a merge answers from the other
 *     members) instead of forcing a re-plan; it may only feed merges and other optional stages
 * @param referenceSeconds its compute per request on the planner's reference host (a worker that
 *     emulates a slower device scales this); 0 when unknown
 * @param predictedSeconds its compute per request on its device as the cost model predicts; NaN when unknown
 * @param label what it is, for people (layers, member name)
 */
public record Stage(
    String id,
    StageModel model,
    List<String> devices,
    boolean optional,
    List<String> inputs,
    List<String> outputs,
    Batching batching,
    double referenceSeconds,
    double predictedSeconds,
    String label) {

  public Stage {
    devices = devices == null ? List.of() : List.copyOf(devices);
    inputs = inputs == null ? List.of() : List.copyOf(inputs);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    batching = batching == null ? Batching.NONE : batching;
    label = label == null ? "" : label;
  }

  /** The same stage on other devices. */
  public Stage onDevices(List<String> placed) {
    return new Stage(id, model, placed, optional, inputs, outputs, batching, referenceSeconds, predictedSeconds, label);
  }

  /** The same stage with another compute on the reference host (what an emulated device multiplies). */
  public Stage withReferenceSeconds(double seconds) {
    return new Stage(id, model, devices, optional, inputs, outputs, batching, seconds, predictedSeconds, label);
  }

  public Stage withBatching(Batching b) {
    return new Stage(id, model, devices, optional, inputs, outputs, b, referenceSeconds, predictedSeconds, label);
  }
}
