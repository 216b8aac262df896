package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What the inference API (KServe v2 over HTTP and gRPC) serves from: a single local session, a
 * distributed pipeline, a variant-parallel ensemble. Failures complete the future exceptionally
 * with an {@link InferenceException}.
 *
 * <p>The gateway checks every request against {@link #models()} before calling {@link #infer}: the
 * model exists, every declared input is present with its declared dtype, and each shape matches
 * the declared one (-1 dimensions are free). Outputs must include every declared output.
 */
public interface ServingBackend extends AutoCloseable {

  List<ServedModel> models();

  boolean ready();

  CompletableFuture<Map<String, TensorData>> infer(String model, Map<String, TensorData> inputs);

  /**
   * A few human-readable lines on the backend's state for the gateway's status page (workers,
   * plan, failures); empty if there is nothing to add.
   */
  default List<String> status() {
    return List.of();
  }

  @Override
  void close();
}
