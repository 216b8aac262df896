package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.DataLoop;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

  /**
   * Runs one call. The future completes once, with the result or an {@link InferenceException};
   * a caller that gives up (the client went away, the deadline passed) cancels the future, and the
   * backend then drops the request's remaining work.
   */
  CompletableFuture<InferenceResult> infer(InferenceCall call);

  /**
   * Runs {@code inputs} on {@code model} with a deadline {@code timeout} from now and keeps only the
   * outputs: for programmatic callers (benchmarks, tests) that need no response parameters.
   */
  default CompletableFuture<Map<String, TensorData>> run(
      String model, Map<String, TensorData> inputs, Duration timeout) {
    return infer(InferenceCall.within(model, inputs, timeout)).thenApply(InferenceResult::outputs);
  }

  /**
   * Refuses, with an {@link InferenceException} of kind TOO_LARGE saying why, a batch of
   * {@code batch} samples (the leading dimension of a dynamic-batch input) that this backend knows
   * it cannot carry, so the gateway can answer 413 before reading the request's data. The default
   * knows no limit.
   */
  default void checkBatch(String model, long batch) {}

  /** Run-time plan control, for backends that hold switchable plans. */
  default Optional<PlanAdmin> planAdmin() {
    return Optional.empty();
  }

  /**
   * The event loop the backend's own connections run on, if it has one: the gateway serves HTTP on
   * it too, so that a request read there is sent on, and its answer written, by one thread,
   * without a thread hand-off (and a wake-up) either way.
   */
  default Optional<DataLoop> ioLoop() {
    return Optional.empty();
  }

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
