package dev.shoal.runtime.gateway;

import com.google.protobuf.ByteString;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferParameter;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.gateway.kserve.ModelInferResponse;
import dev.shoal.runtime.gateway.kserve.ModelMetadataRequest;
import dev.shoal.runtime.gateway.kserve.ModelMetadataResponse;
import dev.shoal.runtime.gateway.kserve.ModelReadyRequest;
import dev.shoal.runtime.gateway.kserve.ModelReadyResponse;
import dev.shoal.runtime.gateway.kserve.ServerLiveRequest;
import dev.shoal.runtime.gateway.kserve.ServerLiveResponse;
import dev.shoal.runtime.gateway.kserve.ServerMetadataRequest;
import dev.shoal.runtime.gateway.kserve.ServerMetadataResponse;
import dev.shoal.runtime.gateway.kserve.ServerReadyRequest;
import dev.shoal.runtime.gateway.kserve.ServerReadyResponse;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.model.TensorSpec;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The KServe v2 {@code GRPCInferenceService}: the same checks and backend as the REST API. */
final class GrpcInferenceApi extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

  private final InferenceDispatcher dispatcher;
  private final RequestRecorder recorder;

  GrpcInferenceApi(InferenceDispatcher dispatcher, RequestRecorder recorder) {
    this.dispatcher = dispatcher;
    this.recorder = recorder;
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
    reply(out, ServerLiveResponse.newBuilder().setLive(true).build());
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    reply(out, ServerReadyResponse.newBuilder().setReady(dispatcher.backend().ready()).build());
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    try {
      dispatcher.model(request.getName(), request.getVersion());
      reply(out, ModelReadyResponse.newBuilder().setReady(dispatcher.backend().ready()).build());
    } catch (InferenceException e) {
      out.onError(status(e).asRuntimeException());
    }
  }

  @Override
  public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    reply(out, ServerMetadataResponse.newBuilder()
        .setName(Gateway.SERVER_NAME).setVersion(Gateway.SERVER_VERSION).build());
  }

  @Override
  public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    try {
      ServedModel m = dispatcher.model(request.getName(), request.getVersion());
      ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder()
          .setName(m.name()).addVersions(m.version()).setPlatform(m.platform());
      m.inputs().forEach(s -> b.addInputs(tensorMetadata(s)));
      m.outputs().forEach(s -> b.addOutputs(tensorMetadata(s)));
      reply(out, b.build());
    } catch (InferenceException e) {
      out.onError(status(e).asRuntimeException());
    }
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    String name = request.getModelName();
    String label = dispatcher.serves(name) ? name : RequestRecorder.UNKNOWN_MODEL;
    long start = recorder.started();
    boolean raw = request.getRawInputContentsCount() > 0;
    InferRequest decoded;
    try {
      TensorCheck check = (input, dtype, shape) ->
          dispatcher.declaredInputCheck(dispatcher.model(name, request.getModelVersion())).check(input, dtype, shape);
      decoded = decode(request, dispatcher.options().maxRequestBytes(), check);
    } catch (InferenceException e) {
      recorder.finished(label, "grpc", start, e);
      out.onError(status(e).asRuntimeException());
      return;
    }
    CompletableFuture<InferOutcome> running = dispatcher.infer(decoded);
    if (out instanceof ServerCallStreamObserver<ModelInferResponse> call) {
      call.setOnCancelHandler(() -> running.cancel(true)); // the client went away or its deadline passed
    }
    running.whenComplete((outcome, failure) -> {
      if (failure != null) {
        InferenceException e = InferenceDispatcher.asInferenceException(failure);
        recorder.finished(label, "grpc", start, e);
        out.onError(status(e).asRuntimeException());
        return;
      }
      ModelInferResponse response;
      try {
        response = encode(outcome, raw);
      } catch (InferenceException e) {
        recorder.finished(label, "grpc", start, e);
        out.onError(status(e).asRuntimeException());
        return;
      }
      recorder.finished(label, "grpc", start, null);
      reply(out, response);
    });
  }

  /**
   * The request's tensors. Raw contents are sliced one per input, in order; a request that mixes
   * them with typed contents is refused (the protocol allows one or the other). Each input's name,
   * type and shape pass {@code check} before its data is copied.
   */
  static InferRequest decode(ModelInferRequest request, long maxRequestBytes, TensorCheck check) {
    if (request.getModelName().isEmpty()) {
      throw bad("missing model_name");
    }
    if (request.getInputsCount() == 0) {
      throw bad("missing inputs: a request needs at least one input tensor");
    }
    boolean raw = request.getRawInputContentsCount() > 0;
    if (raw && request.getRawInputContentsCount() != request.getInputsCount()) {
      throw bad("raw_input_contents has " + request.getRawInputContentsCount() + " entries for "
          + request.getInputsCount() + " inputs (one each, in order)");
    }
    List<TensorData> inputs = new ArrayList<>();
    for (int i = 0; i < request.getInputsCount(); i++) {
      ModelInferRequest.InferInputTensor t = request.getInputs(i);
      String at = "inputs[" + i + "]" + (t.getName().isEmpty() ? "" : " ('" + t.getName() + "')");
      if (t.getName().isEmpty()) {
        throw bad(at + ": missing name");
      }
      DType dtype;
      try {
        dtype = KServeDataType.parse(t.getDatatype()).dtype();
      } catch (IllegalArgumentException e) {
        throw bad(at + ": " + e.getMessage());
      }
      long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
      long count;
      long bytes;
      try {
        count = TensorData.elementCount(shape);
        bytes = Math.multiplyExact(count, (long) dtype.byteSize());
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw bad(at + ": bad shape " + Arrays.toString(shape) + ": "
            + (e instanceof ArithmeticException ? "its size in bytes overflows" : "dimensions must be >= 0"));
      }
      if (bytes > maxRequestBytes) {
        throw new InferenceException(Kind.TOO_LARGE, at + ": shape " + Arrays.toString(shape) + " of "
            + KServeDataType.of(dtype) + " needs " + bytes + " bytes, over the limit of " + maxRequestBytes);
      }
      if (raw && t.hasContents() && t.getContents().getSerializedSize() > 0) {
        throw bad(at + ": has typed contents while the request uses raw_input_contents; send one or the other");
      }
      check.check(t.getName(), dtype, shape);
      byte[] data = raw
          ? request.getRawInputContents(i).toByteArray()
          : fromContents(t.getContents(), dtype, count, at);
      if (data.length != bytes) {
        throw bad(at + ": shape " + Arrays.toString(shape) + " of " + KServeDataType.of(dtype) + " needs "
            + bytes + " bytes, got " + data.length);
      }
      inputs.add(new TensorData(t.getName(), dtype, shape, data));
    }
    List<String> requested = request.getOutputsList().stream()
        .map(ModelInferRequest.InferRequestedOutputTensor::getName).toList();
    return new InferRequest(request.getModelName(), request.getModelVersion(), request.getId(), inputs, requested,
        InferRequest.BinaryOutputs.NONE);
  }

  /** Little-endian bytes from the typed field that matches the datatype. */
  private static byte[] fromContents(InferTensorContents c, DType dtype, long count, String at) {
    int n = switch (dtype) {
      case FLOAT -> c.getFp32ContentsCount();
      case DOUBLE -> c.getFp64ContentsCount();
      case INT8, INT32 -> c.getIntContentsCount();
      case UINT8 -> c.getUintContentsCount();
      case INT64 -> c.getInt64ContentsCount();
      case BOOL -> c.getBoolContentsCount();
      case FLOAT16 -> throw bad(at + ": FP16 has no typed contents field; send it as raw_input_contents");
    };
    if (n != count) {
      throw bad(at + ": " + count + " elements expected in contents for " + KServeDataType.of(dtype) + ", got " + n);
    }
    ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      switch (dtype) {
        case FLOAT -> buf.putFloat(c.getFp32Contents(i));
        case DOUBLE -> buf.putDouble(c.getFp64Contents(i));
        case INT32 -> buf.putInt(c.getIntContents(i));
        case INT64 -> buf.putLong(c.getInt64Contents(i));
        case BOOL -> buf.put((byte) (c.getBoolContents(i) ? 1 : 0));
        case INT8 -> buf.put((byte) inRange(c.getIntContents(i), Byte.MIN_VALUE, Byte.MAX_VALUE, at, i));
        case UINT8 -> buf.put((byte) inRange(Integer.toUnsignedLong(c.getUintContents(i)), 0, 255, at, i));
        case FLOAT16 -> throw new IllegalStateException("unreachable: FP16 refused above");
      }
    }
    return buf.array();
  }

  private static long inRange(long v, long min, long max, String at, int i) {
    if (v < min || v > max) {
      throw bad(at + ": element " + i + " = " + v + " is out of range [" + min + ", " + max + "]");
    }
    return v;
  }

  private static ModelInferResponse encode(InferOutcome outcome, boolean raw) {
    ModelInferResponse.Builder b = ModelInferResponse.newBuilder()
        .setModelName(outcome.model().name()).setModelVersion(outcome.model().version()).setId(outcome.id());
    outcome.parameters().forEach((k, v) -> b.putParameters(k, InferParameter.newBuilder().setStringParam(v).build()));
    for (TensorData t : outcome.outputs()) {
      ModelInferResponse.InferOutputTensor.Builder o = ModelInferResponse.InferOutputTensor.newBuilder()
          .setName(t.name()).setDatatype(KServeDataType.of(t.dtype()).name());
      for (long d : t.shape()) {
        o.addShape(d);
      }
      if (raw || t.dtype() == DType.FLOAT16) {
        b.addRawOutputContents(ByteString.copyFrom(t.data()));
      } else {
        o.setContents(toContents(t));
      }
      b.addOutputs(o);
    }
    if (b.getRawOutputContentsCount() > 0 && b.getRawOutputContentsCount() != b.getOutputsCount()) {
      // raw contents are positional: once one output needs them, all go raw
      return encode(outcome, true);
    }
    return b.build();
  }

  private static InferTensorContents toContents(TensorData t) {
    ByteBuffer buf = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    long n = t.elementCount();
    for (long i = 0; i < n; i++) {
      switch (t.dtype()) {
        case FLOAT -> c.addFp32Contents(buf.getFloat());
        case DOUBLE -> c.addFp64Contents(buf.getDouble());
        case INT8 -> c.addIntContents(buf.get());
        case UINT8 -> c.addUintContents(buf.get() & 0xff);
        case INT32 -> c.addIntContents(buf.getInt());
        case INT64 -> c.addInt64Contents(buf.getLong());
        case BOOL -> c.addBoolContents(buf.get() != 0);
        case FLOAT16 -> throw new IllegalStateException("unreachable: FP16 goes raw");
      }
    }
    return c.build();
  }

  private static ModelMetadataResponse.TensorMetadata tensorMetadata(TensorSpec s) {
    ModelMetadataResponse.TensorMetadata.Builder b = ModelMetadataResponse.TensorMetadata.newBuilder()
        .setName(s.name()).setDatatype(KServeDataType.of(s.dtype()).name());
    for (long d : s.shape()) {
      b.addShape(d);
    }
    return b.build();
  }

  static Status status(InferenceException e) {
    Status code = switch (e.kind()) {
      case BAD_INPUT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case TOO_LARGE -> Status.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
      case DEADLINE -> Status.DEADLINE_EXCEEDED;
      case INTERNAL -> Status.INTERNAL;
    };
    return code.withDescription(e.getMessage());
  }

  private static <T> void reply(StreamObserver<T> out, T value) {
    out.onNext(value);
    out.onCompleted();
  }

  private static InferenceException bad(String message) {
    return new InferenceException(Kind.BAD_INPUT, message);
  }
}
