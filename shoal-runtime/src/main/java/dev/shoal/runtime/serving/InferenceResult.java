package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import java.util.Map;

/**
 * A finished inference: the outputs by name, and response parameters that say how the answer was
 * made (the plan or mode that ran it, which members or sub-networks answered); the API returns the
 * parameters to the client (KServe v2 response {@code parameters}).
 */
public record InferenceResult(Map<String, TensorData> outputs, Map<String, String> parameters) {

  public InferenceResult {
    outputs = Map.copyOf(outputs);
    parameters = Map.copyOf(parameters);
  }

  /** Outputs with nothing to say about how they were made. */
  public static InferenceResult of(Map<String, TensorData> outputs) {
    return new InferenceResult(outputs, Map.of());
  }
}
