package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorData;
import java.util.List;

/**
 * One inference request as either protocol delivers it, before it is checked against the model.
 *
 * @param version the requested model version, empty for any
 * @param id the client's request id, echoed back; empty if none
 * @param requestedOutputs names of the outputs wanted, empty for all
 */
record InferRequest(
    String model, String version, String id, List<TensorData> inputs, List<String> requestedOutputs) {}
