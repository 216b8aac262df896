package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.gateway.kserve.ModelInferResponse;
import dev.shoal.runtime.serving.LocalBackend;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * gRPC messages count against the gateway's buffer budget, the one REST bodies share: a gRPC
 * call holds room for its worst case until its message arrives, then only what the message can
 * cost, and nothing once answered; a call whose message does not come is ended at the read
 * timeout and gives its room back, and a REST body that waited for that room is then answered.
 */
class GrpcBodyBudgetTest {

  private static final long MAX_REQUEST = 64 * 1024;

  @Test
  void grpcMessagesShareTheRestBudgetAndGiveItBack() throws Exception {
    GatewayOptions options = GatewayOptions.defaults().withMaxRequestBytes(MAX_REQUEST)
        .withMaxBufferedBytes(2 * MAX_REQUEST) // room for one worst case: the budget is easy to fill
        .withReadTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30));
    try (LocalBackend local = LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(local, 0, 0, options)) {
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", gateway.grpcPort(),
          InsecureChannelCredentials.create()).build();
      try {
        // an ordinary gRPC inference holds nothing once answered
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("linear")
            .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP32").addShape(1)
                .addShape(LinearSoftmaxModel.IN).setContents(InferTensorContents.newBuilder()
                    .addFp32Contents(1).addFp32Contents(2).addFp32Contents(3).addFp32Contents(4))).build();
        assertThat(GRPCInferenceServiceGrpc.newBlockingStub(channel).modelInfer(request).getOutputsCount()).isEqualTo(2);
        waitForBuffered(gateway, 0);

        // a call that never sends its message holds the worst case: the whole budget. (gRPC-Java
        // holds a unary call's headers back until its message; declared as streaming, the call's
        // headers leave at once, as any HTTP/2 client may send them.)
        ClientCall<ModelInferRequest, ModelInferResponse> silent = channel.newCall(
            GRPCInferenceServiceGrpc.getModelInferMethod().toBuilder().setType(MethodDescriptor.MethodType.BIDI_STREAMING)
                .build(), CallOptions.DEFAULT);
        CompletableFuture<Status> silentEnd = new CompletableFuture<>();
        silent.start(new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            silentEnd.complete(status);
          }
        }, new Metadata());
        silent.request(1);
        waitForBuffered(gateway, 2 * MAX_REQUEST);

        // so a REST body waits (unread) for room ...
        HttpRequest rest = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort()
            + "/v2/models/linear/infer")).POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"x\","
            + "\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}")).build();
        CompletableFuture<HttpResponse<String>> restAnswer = HttpClient.newHttpClient()
            .sendAsync(rest, HttpResponse.BodyHandlers.ofString());
        Thread.sleep(500);
        assertThat(restAnswer).as("the REST request waits while gRPC holds the budget").isNotDone();

        // ... until the silent call is ended at the read timeout and gives its room back
        Status ended = silentEnd.get(10, TimeUnit.SECONDS);
        assertThat(ended.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(ended.getDescription()).isEqualTo("the request message did not arrive within 2000 ms");
        HttpResponse<String> answered = restAnswer.get(10, TimeUnit.SECONDS);
        assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        waitForBuffered(gateway, 0);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void waitForBuffered(Gateway gateway, long bytes) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (gateway.bufferedBytes() != bytes && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(gateway.bufferedBytes()).isEqualTo(bytes);
  }
}
