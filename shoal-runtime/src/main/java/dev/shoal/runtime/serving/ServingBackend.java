package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What the inference API (KServe v2 over HTTP and gRPC) serves from: a single local session, a
 * distributed pipeline, a variant-parallel ensemble. Failures complete the future exceptionally
 * with an {@link InferenceException}.
 */
public interface ServingBackend extends AutoCloseable {

  List<ServedModel> models();

  boolean ready();

  CompletableFuture<Map<String, TensorData>> infer(String model, Map<String, TensorData> inputs);

  @Override
  void close();
}
