package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorData;
import java.util.List;
import java.util.Map;

/**
 * One inference request as either protocol delivers it, before it is checked against the model.
 *
 * @param version the requested model version, empty for any
 * @param id the client's request id, echoed back; empty if none
 * @param requestedOutputs names of the outputs wanted, empty for all
 * @param binaryOutputs which outputs go back as binary tensor data (REST only)
 */
record InferRequest(String model, String version, String id, List<TensorData> inputs, List<String> requestedOutputs,
    BinaryOutputs binaryOutputs) {

  /**
   * The KServe v2 binary tensor data extension's output choice: the request-level {@code
   * binary_data_output} default, overridden per output by its {@code binary_data} parameter.
   */
  record BinaryOutputs(boolean byDefault, Map<String, Boolean> perOutput) {
    static final BinaryOutputs NONE = new BinaryOutputs(false, Map.of());

    BinaryOutputs {
      perOutput = Map.copyOf(perOutput);
    }

    boolean binary(String output) {
      return perOutput.getOrDefault(output, byDefault);
    }
  }
}
