package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.gateway.kserve.ServerLiveRequest;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.LocalBackend;
import dev.shoal.runtime.serving.PlanAdmin;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * API keys, TLS on both ports and the authenticated plan-switching admin calls, over real sockets in
 * front of a backend of two plans, each a real ONNX Runtime session.
 */
class GatewaySecurityTest {

  @TempDir static Path dir;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GOOD = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
      + "\"data\":[1,2,3,4]}]}";

  private static TwoPlans backend;
  private static Gateway gateway;
  private static String token;
  private static TestCertificate cert;
  private static HttpClient https;

  /** One model with two deployed plans, each its own ONNX Runtime session; answers say which ran. */
  static final class TwoPlans implements ServingBackend, PlanAdmin {
    final Map<String, LocalBackend> plans = new LinkedHashMap<>();
    volatile String active = "a";

    TwoPlans() {
      plans.put("a", LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT));
      plans.put("b", LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT));
    }

    @Override
    public List<ServedModel> models() {
      return plans.get("a").models();
    }

    @Override
    public boolean ready() {
      return true;
    }

    @Override
    public CompletableFuture<InferenceResult> infer(InferenceCall call) {
      String plan = active;
      return plans.get(plan).infer(call).thenApply(r -> new InferenceResult(r.outputs(), Map.of("plan", plan)));
    }

    @Override
    public java.util.Optional<PlanAdmin> planAdmin() {
      return java.util.Optional.of(this);
    }

    @Override
    public List<PlanInfo> plans() {
      return plans.keySet().stream().map(p -> new PlanInfo("linear", p, p.equals(active), "one local session"))
          .toList();
    }

    @Override
    public void activate(String model, String plan) {
      if (!model.equals("linear") || !plans.containsKey(plan)) {
        throw new InferenceException(InferenceException.Kind.NOT_FOUND,
            "model '" + model + "' has no plan '" + plan + "'");
      }
      active = plan;
    }

    @Override
    public void close() {
      plans.values().forEach(LocalBackend::close);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    Path keys = dir.resolve("keys.txt");
    token = ApiKeys.add(keys, "ci");
    cert = TestCertificate.make(dir);
    backend = new TwoPlans();
    InetAddress loopback = InetAddress.getLoopbackAddress();
    gateway = Gateway.start(backend, new InetSocketAddress(loopback, 0), new InetSocketAddress(loopback, 0),
        GatewayOptions.defaults(), new GatewaySecurity(ApiKeys.load(keys), false, cert.certPem(), cert.keyPem()));
    https = HttpClient.newBuilder().sslContext(cert.clientContext()).build();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    backend.close();
  }

  private record Reply(int status, JsonNode body) {}

  private static Reply call(String method, String path, String body, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + gateway.httpPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    HttpResponse<String> r = https.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), JSON.readTree(r.body()));
  }

  @Test
  void restOverTlsNeedsAKeyForInferenceAndMetadataButNotForHealth() throws Exception {
    assertThat(call("GET", "/v2/health/ready", null, null).status()).isEqualTo(200);
    assertThat(call("GET", "/v2/health/live", null, null).status()).isEqualTo(200);
    Reply none = call("POST", "/v2/models/linear/infer", GOOD, null);
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.body().get("error").asText()).contains("missing API key");
    assertThat(call("POST", "/v2/models/linear/infer", GOOD, "shoal_wrong").status()).isEqualTo(401);
    assertThat(call("GET", "/v2/models/linear", null, null).status()).isEqualTo(401);
    assertThat(call("GET", "/v2/models/linear", null, token).status()).isEqualTo(200);
    Reply ok = call("POST", "/v2/models/linear/infer", GOOD, token);
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body().get("outputs")).hasSize(2);
  }

  @Test
  void plansAreListedAndSwitchedThroughTheAuthenticatedAdminCalls() throws Exception {
    assertThat(call("GET", "/v2/admin/plans", null, null).status()).isEqualTo(401);
    Reply plans = call("GET", "/v2/admin/plans", null, token);
    assertThat(plans.status()).isEqualTo(200);
    assertThat(plans.body().get("plans")).hasSize(2);
    String activate = "/v2/admin/models/linear/plans/b/activate";
    assertThat(call("POST", activate, "", null).status()).isEqualTo(401);
    assertThat(call("POST", activate, "", token).status()).isEqualTo(200);
    assertThat(call("POST", "/v2/models/linear/infer", GOOD, token).body().get("parameters").get("plan").asText())
        .isEqualTo("b");
    Reply unknown = call("POST", "/v2/admin/models/linear/plans/zz/activate", "", token);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.body().get("error").asText()).contains("no plan 'zz'");
    assertThat(call("POST", "/v2/admin/models/linear/plans/a/activate", "", token).status()).isEqualTo(200);
    assertThat(call("POST", "/v2/models/linear/infer", GOOD, token).body().get("parameters").get("plan").asText())
        .isEqualTo("a");
  }

  @Test
  void grpcOverTlsNeedsAKeyForInference() throws Exception {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", gateway.grpcPort(),
        TlsChannelCredentials.newBuilder().trustManager(cert.certPem().toFile()).build()).build();
    try {
      var open = GRPCInferenceServiceGrpc.newBlockingStub(channel);
      assertThat(open.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
      ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("linear")
          .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP32")
              .addShape(1).addShape(4).setContents(InferTensorContents.newBuilder()
                  .addFp32Contents(1).addFp32Contents(2).addFp32Contents(3).addFp32Contents(4)))
          .build();
      assertThatThrownBy(() -> open.modelInfer(request)).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      var keyed = open.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
      assertThat(keyed.modelInfer(request).getOutputsCount()).isEqualTo(2);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void anOpenGatewayBeyondLoopbackIsRefusedAndAdminIsOff() throws Exception {
    assertThatThrownBy(() -> Gateway.start(backend, new InetSocketAddress("0.0.0.0", 0),
            new InetSocketAddress("127.0.0.1", 0), GatewayOptions.defaults(), GatewaySecurity.OPEN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refusing to serve HTTP on 0.0.0.0")
        .hasMessageContaining("without API keys");
    try (Gateway open = Gateway.start(backend, 0, 0)) {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + open.httpPort() + "/v2/admin/plans")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body()).contains("admin calls need API keys");
    }
  }

  @Test
  void keyedHealthNeedsTheKeyToo() throws Exception {
    try (Gateway keyed = Gateway.start(backend, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), GatewayOptions.defaults(),
        new GatewaySecurity(ApiKeys.load(dir.resolve("keys.txt")), true, null, null))) {
      HttpClient plain = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + keyed.httpPort();
      assertThat(plain.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
      assertThat(plain.send(HttpRequest.newBuilder(URI.create(base + "/v2/health/live"))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void theKeysFileHoldsHashesNotTokens() throws Exception {
    Path keys = dir.resolve("keys.txt");
    String text = Files.readString(keys);
    assertThat(text).startsWith("ci ").doesNotContain(token);
    assertThat(ApiKeys.load(keys).callerOfHeader("Bearer " + token)).contains("ci");
    assertThatThrownBy(() -> ApiKeys.add(keys, "ci")).hasMessageContaining("already has a key named 'ci'");
    Path bad = dir.resolve("bad.txt");
    Files.writeString(bad, "ci not-a-hash\n");
    assertThatThrownBy(() -> ApiKeys.load(bad)).hasMessageContaining("line 1: expected 'NAME SHA256-HEX'");
  }
}
