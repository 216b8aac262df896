package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.gateway.kserve.ModelInferResponse;
import dev.shoal.runtime.gateway.kserve.ModelMetadataRequest;
import dev.shoal.runtime.gateway.kserve.ModelMetadataResponse;
import dev.shoal.runtime.gateway.kserve.ModelReadyRequest;
import dev.shoal.runtime.gateway.kserve.ServerLiveRequest;
import dev.shoal.runtime.gateway.kserve.ServerMetadataRequest;
import dev.shoal.runtime.gateway.kserve.ServerReadyRequest;
import dev.shoal.runtime.serving.LocalBackend;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The KServe v2 gRPC service over a real socket, in front of a real ONNX Runtime session. */
class GrpcGatewayTest {

  private static final long LIMIT = 8 * 1024;
  private static final float[] X = {1f, 2f, -1f, 0.5f, 0f, -3f, 2f, 1f};

  private static LocalBackend backend;
  private static Gateway gateway;
  private static ManagedChannel channel;
  private static GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;

  @BeforeAll
  static void start() {
    backend = LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT);
    gateway = Gateway.start(backend, 0, 0, GatewayOptions.defaults().withMaxRequestBytes(LIMIT));
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", gateway.grpcPort(), InsecureChannelCredentials.create())
        .build();
    stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (gateway != null) {
      gateway.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private static ModelInferRequest.InferInputTensor.Builder input(String datatype, long... shape) {
    ModelInferRequest.InferInputTensor.Builder b =
        ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype(datatype);
    for (long d : shape) {
      b.addShape(d);
    }
    return b;
  }

  private static InferTensorContents fp32(float... values) {
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    for (float v : values) {
      c.addFp32Contents(v);
    }
    return c.build();
  }

  private static ModelInferRequest typedRequest() {
    return ModelInferRequest.newBuilder().setModelName("linear").setId("g1")
        .addInputs(input("FP32", 2, 4).setContents(fp32(X))).build();
  }

  private static void assertGoodInferenceWorks() {
    ModelInferResponse r = stub.modelInfer(typedRequest());
    assertThat(r.getId()).isEqualTo("g1");
    assertThat(r.getOutputs(0).getName()).isEqualTo("probs");
    assertThat(r.getOutputs(0).getShapeList()).containsExactly(2L, 3L);
    float[] expected = LinearSoftmaxModel.expectedProbs(X);
    for (int i = 0; i < expected.length; i++) {
      assertThat(r.getOutputs(0).getContents().getFp32Contents(i)).isCloseTo(expected[i], within(1e-5f));
    }
  }

  @Test
  void healthAndMetadata() {
    assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
    assertThat(stub.serverMetadata(ServerMetadataRequest.getDefaultInstance()).getName()).isEqualTo("shoal");
    assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("linear").build()).getReady()).isTrue();
    ModelMetadataResponse meta = stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("linear").build());
    assertThat(meta.getInputs(0).getName()).isEqualTo("x");
    assertThat(meta.getInputs(0).getDatatype()).isEqualTo("FP32");
    assertThat(meta.getInputs(0).getShapeList()).containsExactly(-1L, 4L);
    assertThat(meta.getOutputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName)
        .containsExactly("probs", "logits");
    assertStatus(() -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("nosuch").build()),
        Status.Code.NOT_FOUND, "unknown model 'nosuch'");
  }

  @Test
  void infersWithTypedAndRawContents() {
    assertGoodInferenceWorks();
    TensorData x = TensorData.ofFloats("x", new long[] {2, 4}, X);
    ModelInferResponse raw = stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
        .addInputs(input("FP32", 2, 4)).addRawInputContents(ByteString.copyFrom(x.data()))
        .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("probs")).build());
    assertThat(raw.getOutputsCount()).isEqualTo(1);
    assertThat(raw.getRawOutputContentsCount()).isEqualTo(1);
    float[] got = new TensorData("probs", dev.shoal.model.DType.FLOAT, new long[] {2, 3},
        raw.getRawOutputContents(0).toByteArray()).floats();
    assertThat(got).containsExactly(LinearSoftmaxModel.expectedProbs(X), within(1e-5f));
  }

  @Test
  void badRequestsGetTheRightCodeAndTheServerKeepsServing() {
    assertStatus(() -> stub.modelInfer(typedRequest().toBuilder().setModelName("nosuch").build()),
        Status.Code.NOT_FOUND, "unknown model 'nosuch'");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear").build()),
        Status.Code.INVALID_ARGUMENT, "missing inputs");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("INT32", 1, 4).setContents(InferTensorContents.newBuilder()
                .addIntContents(1).addIntContents(2).addIntContents(3).addIntContents(4))).build()),
        Status.Code.INVALID_ARGUMENT, "must be FP32, got INT32");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("FP32", 1, 5).setContents(fp32(1, 2, 3, 4, 5))).build()),
        Status.Code.INVALID_ARGUMENT, "must have shape [-1, 4]");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("FP32", 1, 4).setContents(fp32(1, 2, 3))).build()),
        Status.Code.INVALID_ARGUMENT, "4 elements expected");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("FP32", 1, 4)).addRawInputContents(ByteString.copyFrom(new byte[12])).build()),
        Status.Code.INVALID_ARGUMENT, "needs 16 bytes, got 12");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("FP32", 1, -4).setContents(fp32(1, 2, 3, 4))).build()),
        Status.Code.INVALID_ARGUMENT, "bad shape");
    assertStatus(() -> stub.modelInfer(typedRequest().toBuilder()
            .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("nope")).build()),
        Status.Code.INVALID_ARGUMENT, "has no output 'nope'");
    assertStatus(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input("FP32", 1, 4)).addRawInputContents(ByteString.copyFrom(new byte[(int) LIMIT])).build()),
        Status.Code.RESOURCE_EXHAUSTED, "exceeds maximum size");
    assertGoodInferenceWorks();
  }

  private static void assertStatus(ThrowingCallable call, Status.Code code, String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).as(e.toString()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(message);
    });
  }
}
