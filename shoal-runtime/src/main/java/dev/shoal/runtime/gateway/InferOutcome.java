package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.ServedModel;
import java.util.List;

/** A finished inference: the model that answered and its outputs in the order to return them. */
record InferOutcome(ServedModel model, String id, List<TensorData> outputs) {}
