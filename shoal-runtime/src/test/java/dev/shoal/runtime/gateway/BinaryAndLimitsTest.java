package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.serving.LocalBackend;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The KServe v2 binary tensor data extension over REST and raw contents over gRPC, as Triton's
 * clients send them, and the request limits: non-finite inputs, the batch limit, mixed raw and typed
 * gRPC contents, gRPC shapes whose byte size overflows. A real ONNX Runtime session answers.
 */
class BinaryAndLimitsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final float[] X = {1f, 2f, -1f, 0.5f, 0f, -3f, 2f, 1f};

  private static LocalBackend backend;
  private static Gateway gateway;
  private static ManagedChannel channel;
  private static GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    backend = LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT);
    gateway = Gateway.start(backend, 0, 0, GatewayOptions.defaults().withMaxBatch(64));
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", gateway.grpcPort(), InsecureChannelCredentials.create())
        .build();
    stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    gateway.close();
    backend.close();
  }

  private static HttpResponse<byte[]> post(byte[] body, Integer headerLength) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2/models/linear/infer"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (headerLength != null) {
      b.header("Inference-Header-Content-Length", headerLength.toString())
          .header("Content-Type", "application/octet-stream");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void binaryRequestAndResponseMatchTheJsonAnswer() throws Exception {
    TensorData x = TensorData.ofFloats("x", new long[] {2, 4}, X);
    // as tritonclient.http sends it: binary input, every output binary unless it says otherwise
    byte[] json = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"FP32\","
        + "\"parameters\":{\"binary_data_size\":32}}],\"outputs\":[{\"name\":\"probs\","
        + "\"parameters\":{\"binary_data\":true}},{\"name\":\"logits\",\"parameters\":{\"binary_data\":false}}]}")
        .getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post(concat(json, x.data()), json.length);
    assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    int headerLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode head = JSON.readTree(Arrays.copyOf(r.body(), headerLength));
    JsonNode probs = head.get("outputs").get(0);
    assertThat(probs.get("parameters").get("binary_data_size").asInt()).isEqualTo(24);
    assertThat(probs.has("data")).isFalse();
    assertThat(r.body()).hasSize(headerLength + 24);
    float[] got = new TensorData("probs", DType.FLOAT, new long[] {2, 3},
        Arrays.copyOfRange(r.body(), headerLength, headerLength + 24)).floats();
    assertThat(got).containsExactly(LinearSoftmaxModel.expectedProbs(X), within(1e-5f));
    // the JSON output in the same answer agrees with the model
    JsonNode logits = head.get("outputs").get(1);
    assertThat(logits.get("data")).hasSize(6);

    // the server says it speaks the extension
    HttpResponse<byte[]> meta = HTTP.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2")).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(JSON.readTree(meta.body()).get("extensions").toString()).contains("binary_tensor_data");
  }

  @Test
  void nonFiniteInputsAreRefusedNamingTheInputAndElement() throws Exception {
    for (String value : new String[] {"1e400", "3.5e38", "-1e39"}) {
      byte[] body = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[0,1," + value
          + ",2]}]}").getBytes(StandardCharsets.UTF_8);
      HttpResponse<byte[]> r = post(body, null);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("input 'x': element 2 is").contains("finite");
    }
    byte[] json = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
        + "\"parameters\":{\"binary_data_size\":16}}]}").getBytes(StandardCharsets.UTF_8);
    TensorData nan = TensorData.ofFloats("x", new long[] {1, 4}, new float[] {0, 0, 0, Float.NaN});
    HttpResponse<byte[]> r = post(concat(json, nan.data()), json.length);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("element 3 is NaN");
    assertGrpc(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input(1, 4)).addRawInputContents(ByteString.copyFrom(nan.data())).build()),
        Status.Code.INVALID_ARGUMENT, "element 3 is NaN");
  }

  @Test
  void aBatchOverTheLimitGetsA413BeforeItsDataIsRead() throws Exception {
    // 65 rows: over --max-batch 64; the data is not even valid, it is never read
    byte[] body = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[65,4],\"datatype\":\"FP32\",\"data\":[\"unread\"]}]}")
        .getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post(body, null);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("batch of 65, over the gateway's limit of 64");
    assertGrpc(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input(65, 4)).addRawInputContents(ByteString.copyFrom(new byte[65 * 16])).build()),
        Status.Code.RESOURCE_EXHAUSTED, "batch of 65");
  }

  @Test
  void grpcRefusesMixedContentsAndOverflowingShapes() {
    TensorData x = TensorData.ofFloats("x", new long[] {1, 4}, new float[] {1, 2, 3, 4});
    assertGrpc(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input(1, 4).setContents(InferTensorContents.newBuilder()
                .addFp32Contents(9).addFp32Contents(9).addFp32Contents(9).addFp32Contents(9)))
            .addRawInputContents(ByteString.copyFrom(x.data())).build()),
        Status.Code.INVALID_ARGUMENT, "has typed contents while the request uses raw_input_contents");
    // 2^62 elements of 4 bytes: the byte size wraps a long
    assertGrpc(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input(1L << 60, 4)).addRawInputContents(ByteString.copyFrom(x.data())).build()),
        Status.Code.INVALID_ARGUMENT, "its size in bytes overflows");
    assertGrpc(() -> stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(input(1L << 30, 4)).addRawInputContents(ByteString.copyFrom(x.data())).build()),
        Status.Code.RESOURCE_EXHAUSTED, "over the limit of");
    // and the service still answers
    assertThat(stub.modelInfer(ModelInferRequest.newBuilder().setModelName("linear")
        .addInputs(input(1, 4)).addRawInputContents(ByteString.copyFrom(x.data())).build()).getOutputsCount())
        .isEqualTo(2);
  }

  private static ModelInferRequest.InferInputTensor.Builder input(long... shape) {
    ModelInferRequest.InferInputTensor.Builder b =
        ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP32");
    for (long d : shape) {
      b.addShape(d);
    }
    return b;
  }

  private static void assertGrpc(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).as(e.toString()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(message);
    });
  }
}
