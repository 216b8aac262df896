package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.ServedModel;
import java.util.List;
import java.util.Map;

/**
 * A finished inference: the model that answered, its outputs in the order to return them, and the
 * response parameters saying how the answer was made.
 */
record InferOutcome(ServedModel model, String id, List<TensorData> outputs, Map<String, String> parameters) {}
