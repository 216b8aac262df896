package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One call into an inference service: the model, its checked inputs by name, and the one deadline
 * the answer must meet (wall clock, so it can travel in frames to other processes). Work still
 * running at the deadline is dropped wherever it is.
 */
public record InferenceCall(String model, Map<String, TensorData> inputs, Instant deadline) {

  public InferenceCall {
    Objects.requireNonNull(model, "model");
    inputs = Map.copyOf(inputs);
    Objects.requireNonNull(deadline, "deadline");
  }

  /** A call whose deadline is {@code timeout} from now. */
  public static InferenceCall within(String model, Map<String, TensorData> inputs, java.time.Duration timeout) {
    return new InferenceCall(model, inputs, Instant.now().plus(timeout));
  }
}
