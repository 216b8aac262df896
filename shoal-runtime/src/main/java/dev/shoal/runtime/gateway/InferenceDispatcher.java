package dev.shoal.runtime.gateway;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The protocol-independent half of the API: finds the model, checks a request against its declared
 * inputs and outputs (so a backend only ever sees well-formed tensors), runs it with the gateway's
 * deadline, and puts the outputs in the order to return. Readiness is the backend's to judge per
 * request: a pipeline that is re-planning after a failure accepts requests and answers them once
 * the new plan runs, and refuses (with its reason) only when it has no plan.
 */
final class InferenceDispatcher {

  private final ServingBackend backend;
  private final GatewayOptions options;
  private final ScheduledExecutorService timer;

  /** @param timer fires the deadlines; owned by the caller */
  InferenceDispatcher(ServingBackend backend, GatewayOptions options, ScheduledExecutorService timer) {
    this.backend = backend;
    this.options = options;
    this.timer = timer;
  }

  GatewayOptions options() {
    return options;
  }

  ServingBackend backend() {
    return backend;
  }

  /** The served model with this name (and version, unless empty), or NOT_FOUND. */
  ServedModel model(String name, String version) {
    for (ServedModel m : backend.models()) {
      if (m.name().equals(name)) {
        if (!version.isEmpty() && !version.equals(m.version())) {
          throw new InferenceException(
              Kind.NOT_FOUND, "model '" + name + "' has no version '" + version + "' (served: '" + m.version() + "')");
        }
        return m;
      }
    }
    throw new InferenceException(Kind.NOT_FOUND, "unknown model '" + name + "'");
  }

  /** Whether the name is served, for metric labels that must not grow with what clients send. */
  boolean serves(String name) {
    return backend.models().stream().anyMatch(m -> m.name().equals(name));
  }

  /**
   * Checks and runs a request; the future fails with an {@link InferenceException}. Cancelling the
   * returned future (the client went away) cancels the backend's work, and so does the deadline.
   */
  CompletableFuture<InferOutcome> infer(InferRequest request) {
    ServedModel model;
    Map<String, TensorData> inputs;
    try {
      model = model(request.model(), request.version());
      inputs = checkInputs(model, request.inputs());
      checkRequestedOutputs(model, request.requestedOutputs());
    } catch (InferenceException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<InferenceResult> running;
    try {
      running = backend.infer(InferenceCall.within(model.name(), inputs, options.requestTimeout()));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(asInferenceException(e));
    }
    CompletableFuture<InferOutcome> outcome = new CompletableFuture<>();
    AtomicBoolean pastDeadline = new AtomicBoolean();
    running.whenComplete((result, failure) -> {
      if (failure != null) {
        outcome.completeExceptionally(pastDeadline.get() ? deadlineError() : asInferenceException(failure));
        return;
      }
      try {
        outcome.complete(new InferOutcome(model, request.id(),
            selectOutputs(model, result.outputs(), request.requestedOutputs()), result.parameters()));
      } catch (RuntimeException e) {
        outcome.completeExceptionally(asInferenceException(e));
      }
    });
    // The backend's work is cancelled before the client hears of the deadline, so that no answer
    // leaves the gateway while work for it still runs.
    ScheduledFuture<?> deadline = timer.schedule(() -> {
      pastDeadline.set(true);
      running.cancel(true);
      outcome.completeExceptionally(deadlineError());
    }, options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    outcome.whenComplete((o, failure) -> {
      deadline.cancel(false);
      if (failure != null) {
        running.cancel(true); // abandoned by the client: the backend drops the rest of the work
      }
    });
    return outcome;
  }

  private InferenceException deadlineError() {
    return new InferenceException(Kind.DEADLINE, "no answer from the model within the gateway's deadline of "
        + options.requestTimeout().toMillis() + " ms");
  }

  static InferenceException asInferenceException(Throwable t) {
    InferenceException e = InferenceException.of(t);
    return e.getCause() instanceof TimeoutException
        ? new InferenceException(Kind.DEADLINE, "no answer from the model within the gateway's deadline")
        : e;
  }

  private Map<String, TensorData> checkInputs(ServedModel model, List<TensorData> given) {
    Map<String, TensorData> byName = new LinkedHashMap<>();
    TensorCheck declared = declaredInputCheck(model);
    long bytes = 0;
    for (TensorData t : given) {
      if (byName.put(t.name(), t) != null) {
        throw bad("input '" + t.name() + "' is given twice");
      }
      declared.check(t.name(), t.dtype(), t.shape());
      bytes += t.data().length;
    }
    if (bytes > options.maxRequestBytes()) {
      throw new InferenceException(Kind.TOO_LARGE, "the request's tensors take " + bytes
          + " bytes, over the limit of " + options.maxRequestBytes());
    }
    for (TensorSpec spec : model.inputs()) {
      if (!byName.containsKey(spec.name())) {
        throw bad("missing input '" + spec.name() + "' of model '" + model.name() + "'");
      }
    }
    byName.values().forEach(InferenceDispatcher::checkFinite);
    return byName;
  }

  /**
   * The check of one input against the model's declaration (name, type, shape), the gateway's
   * batch limit and the backend's ({@link ServingBackend#checkBatch}), made as soon as a decoder
   * knows them, before the data is read.
   */
  TensorCheck declaredInputCheck(ServedModel model) {
    return (name, dtype, shape) -> {
      TensorSpec spec = model.inputs().stream().filter(s -> s.name().equals(name)).findFirst()
          .orElseThrow(() -> bad("model '" + model.name() + "' has no input '" + name + "' (inputs: "
              + names(model.inputs()) + ")"));
      if (dtype != spec.dtype()) {
        throw bad("input '" + name + "' must be " + KServeDataType.of(spec.dtype()) + ", got " + KServeDataType.of(dtype));
      }
      boolean fits = shape.length == spec.shape().length;
      for (int i = 0; fits && i < shape.length; i++) {
        fits = spec.shape()[i] < 0 || spec.shape()[i] == shape[i];
      }
      if (!fits) {
        throw bad("input '" + name + "' must have shape " + Arrays.toString(spec.shape()) + " (-1 = any), got "
            + Arrays.toString(shape));
      }
      if (spec.shape().length > 0 && spec.shape()[0] < 0) {
        if (options.maxBatch() > 0 && shape[0] > options.maxBatch()) {
          throw new InferenceException(Kind.TOO_LARGE, "input '" + name + "' has a batch of " + shape[0]
              + ", over the gateway's limit of " + options.maxBatch() + " per request; split it");
        }
        backend.checkBatch(model.name(), shape[0]); // e.g. the plan's frames at this batch
      }
    };
  }

  /**
   * Refuses NaN and infinite floating-point inputs: a model answers them with garbage, not an error.
   * Tests the exponent bits (all ones: infinity or NaN) with one tight loop per type: every input
   * element of every request passes here, on the request's thread.
   */
  static void checkFinite(TensorData t) {
    ByteBuffer buf = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
    int bad = switch (t.dtype()) {
      case FLOAT -> firstNonFinite(buf.asIntBuffer(), 0x7F80_0000);
      case DOUBLE -> firstNonFinite(buf.asLongBuffer());
      case FLOAT16 -> firstNonFinite(buf.asShortBuffer());
      default -> -1;
    };
    if (bad >= 0) {
      String value = switch (t.dtype()) {
        case FLOAT -> String.valueOf(buf.getFloat(4 * bad));
        case DOUBLE -> String.valueOf(buf.getDouble(8 * bad));
        default -> "not finite";
      };
      throw bad("input '" + t.name() + "': element " + bad + " is " + value + " (out of "
          + KServeDataType.of(t.dtype()) + " range, or not a number); inputs must be finite");
    }
  }

  private static int firstNonFinite(IntBuffer bits, int exponent) {
    for (int i = 0, n = bits.limit(); i < n; i++) {
      if ((bits.get(i) & exponent) == exponent) {
        return i;
      }
    }
    return -1;
  }

  private static int firstNonFinite(LongBuffer bits) {
    long exponent = 0x7FF0_0000_0000_0000L;
    for (int i = 0, n = bits.limit(); i < n; i++) {
      if ((bits.get(i) & exponent) == exponent) {
        return i;
      }
    }
    return -1;
  }

  private static int firstNonFinite(ShortBuffer bits) {
    for (int i = 0, n = bits.limit(); i < n; i++) {
      if ((bits.get(i) & 0x7C00) == 0x7C00) {
        return i;
      }
    }
    return -1;
  }

  private static void checkRequestedOutputs(ServedModel model, List<String> requested) {
    Set<String> seen = new HashSet<>();
    for (String name : requested) {
      if (model.outputs().stream().noneMatch(s -> s.name().equals(name))) {
        throw bad("model '" + model.name() + "' has no output '" + name + "' (outputs: " + names(model.outputs()) + ")");
      }
      if (!seen.add(name)) {
        throw bad("output '" + name + "' is requested twice");
      }
    }
  }

  private static List<TensorData> selectOutputs(
      ServedModel model, Map<String, TensorData> outputs, List<String> requested) {
    List<String> order = new ArrayList<>();
    if (requested.isEmpty()) {
      model.outputs().forEach(s -> order.add(s.name()));
    } else {
      order.addAll(requested);
    }
    List<TensorData> selected = new ArrayList<>(order.size());
    for (String name : order) {
      TensorData t = outputs.get(name);
      if (t == null) {
        throw new InferenceException(
            Kind.INTERNAL, "the backend's answer lacks output '" + name + "' (got " + outputs.keySet() + ")");
      }
      selected.add(t);
    }
    return selected;
  }

  private static String names(List<TensorSpec> specs) {
    return specs.stream().map(TensorSpec::name).toList().toString();
  }

  private static InferenceException bad(String message) {
    return new InferenceException(Kind.BAD_INPUT, message);
  }
}
