package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.runtime.serving.LocalBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The KServe v2 REST API over a real socket, in front of a real ONNX Runtime session. */
class HttpGatewayTest {

  private static final long LIMIT = 8 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final float[] X = {1f, 2f, -1f, 0.5f, 0f, -3f, 2f, 1f};

  private static LocalBackend backend;
  private static Gateway gateway;
  private static HttpClient client;

  @BeforeAll
  static void start() {
    backend = LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT);
    gateway = Gateway.start(backend, 0, 0, GatewayOptions.defaults().withMaxRequestBytes(LIMIT));
    client = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private record Reply(int status, JsonNode body, String text) {}

  private static Reply call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort() + path));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")
        ? JSON.readTree(r.body()) : null;
    return new Reply(r.statusCode(), json, r.body());
  }

  private static String inferBody(String datatype, String shape, String data) {
    return "{\"id\":\"req-7\",\"inputs\":[{\"name\":\"x\",\"shape\":" + shape + ",\"datatype\":\"" + datatype
        + "\",\"data\":" + data + "}]}";
  }

  private static String goodBody() {
    StringBuilder data = new StringBuilder("[");
    for (int i = 0; i < X.length; i++) {
      data.append(i == 0 ? "" : ",").append(X[i]);
    }
    return inferBody("FP32", "[2,4]", data.append(']').toString());
  }

  private static void assertGoodInferenceWorks() throws Exception {
    Reply r = call("POST", "/v2/models/linear/infer", goodBody());
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.body().get("model_name").asText()).isEqualTo("linear");
    assertThat(r.body().get("id").asText()).isEqualTo("req-7");
    JsonNode probs = r.body().get("outputs").get(0);
    assertThat(probs.get("name").asText()).isEqualTo("probs");
    assertThat(probs.get("datatype").asText()).isEqualTo("FP32");
    assertThat(probs.get("shape").toString()).isEqualTo("[2,3]");
    float[] expected = LinearSoftmaxModel.expectedProbs(X);
    for (int i = 0; i < expected.length; i++) {
      assertThat(probs.get("data").get(i).floatValue()).isCloseTo(expected[i], within(1e-5f));
    }
  }

  @Test
  void healthAndMetadata() throws Exception {
    assertThat(call("GET", "/v2/health/live", null).body().get("live").asBoolean()).isTrue();
    assertThat(call("GET", "/v2/health/ready", null).body().get("ready").asBoolean()).isTrue();
    Reply server = call("GET", "/v2", null);
    assertThat(server.body().get("name").asText()).isEqualTo("shoal");
    Reply meta = call("GET", "/v2/models/linear", null);
    assertThat(meta.status()).isEqualTo(200);
    assertThat(meta.body().get("inputs").get(0).toString())
        .isEqualTo("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,4]}");
    assertThat(meta.body().get("outputs")).hasSize(2);
    assertThat(call("GET", "/v2/models/linear/ready", null).body().get("ready").asBoolean()).isTrue();
    assertThat(call("GET", "/v2/models/linear/versions/1/ready", null).status()).isEqualTo(200);
    assertThat(call("GET", "/v2/models/linear/versions/9", null).status()).isEqualTo(404);
  }

  @Test
  void infersAndSelectsOutputs() throws Exception {
    assertGoodInferenceWorks();
    String body = goodBody().replace("}]}", "}],\"outputs\":[{\"name\":\"logits\"}]}");
    Reply r = call("POST", "/v2/models/linear/versions/1/infer", body);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.body().get("outputs")).hasSize(1);
    assertThat(r.body().get("outputs").get(0).get("name").asText()).isEqualTo("logits");
    // nested row-major data is the same tensor
    Reply nested = call("POST", "/v2/models/linear/infer",
        inferBody("FP32", "[2,4]", "[[1,2,-1,0.5],[0,-3,2,1]]"));
    assertThat(nested.body().get("outputs").get(0).get("data"))
        .isEqualTo(call("POST", "/v2/models/linear/infer", goodBody()).body().get("outputs").get(0).get("data"));
  }

  @Test
  void badRequestsGetA4xxWithAClearErrorAndTheServerKeepsServing() throws Exception {
    record Case(String method, String path, String body, int status, String message) {}
    String infer = "/v2/models/linear/infer";
    List<Case> cases = List.of(
        new Case("POST", infer, "{\"inputs\": [", 400, "malformed JSON"),
        new Case("POST", infer, "[1,2,3]", 400, "must be a JSON object"),
        new Case("POST", infer, "{}", 400, "missing 'inputs'"),
        new Case("POST", infer, "{\"inputs\":[{\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
            400, "missing 'name'"),
        new Case("POST", infer, "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
            400, "missing 'shape'"),
        new Case("POST", infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}",
            400, "missing 'datatype'"),
        new Case("POST", infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\"}]}",
            400, "missing 'data'"),
        new Case("POST", infer, inferBody("FP32", "[1,5]", "[1,2,3,4,5]"), 400, "must have shape [-1, 4]"),
        new Case("POST", infer, inferBody("INT32", "[1,4]", "[1,2,3,4]"), 400, "must be FP32, got INT32"),
        new Case("POST", infer, inferBody("FP99", "[1,4]", "[1,2,3,4]"), 400, "unsupported datatype 'FP99'"),
        new Case("POST", infer, inferBody("FP32", "[1,4]", "[1,2,3]"), 400, "needs 4 elements, 'data' has 3"),
        new Case("POST", infer, inferBody("FP32", "[1,4]", "[1,2,3,4,5]"), 400, "needs 4 elements, 'data' has more"),
        new Case("POST", infer, inferBody("FP32", "[1,4]", "[1,2,\"three\",4]"), 400, "inputs[0] ('x').data[2]"),
        new Case("POST", infer, inferBody("FP32", "[1,-4]", "[1,2,3,4]"), 400, "shape[1] must be a non-negative"),
        new Case("POST", infer, inferBody("FP32", "[4000000000,4000000000,4000000000]", "[1]"),
            400, "too many elements"),
        new Case("POST", infer, "{\"inputs\":[{\"name\":\"y\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
            400, "has no input 'y'"),
        new Case("POST", infer, goodBody().replace("}]}", "}],\"outputs\":[{\"name\":\"nope\"}]}"),
            400, "has no output 'nope'"),
        new Case("POST", "/v2/models/nosuch/infer", goodBody(), 404, "unknown model 'nosuch'"),
        new Case("GET", "/v2/models/nosuch", null, 404, "unknown model 'nosuch'"),
        new Case("GET", "/v2/nothing/here", null, 404, "no such endpoint"),
        new Case("GET", infer, null, 405, "use POST"),
        new Case("POST", "/v2/health/live", "{}", 405, "use GET"),
        new Case("POST", infer, goodBody() + " ".repeat((int) LIMIT), 413, "exceeds the limit of 8192 bytes"));
    for (Case c : cases) {
      Reply r = call(c.method(), c.path(), c.body());
      assertThat(r.status()).as("%s %s %s -> %s", c.method(), c.path(), c.body(), r.text()).isEqualTo(c.status());
      assertThat(r.body()).as("JSON error body for %s", c).isNotNull();
      assertThat(r.body().get("error").asText()).as("%s", c).contains(c.message());
    }
    assertGoodInferenceWorks();
  }

  @Test
  void declaredOversizedBodyIsRefusedBeforeItIsRead() throws Exception {
    try (Socket s = new Socket("127.0.0.1", gateway.httpPort())) {
      OutputStream out = s.getOutputStream();
      out.write(("POST /v2/models/linear/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: 1000000000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      assertThat(head).isEqualTo("HTTP/1.1 413");
    }
    assertGoodInferenceWorks();
  }

  @Test
  void manyConcurrentRequestsAllGetTheirOwnAnswer() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
      float v = i;
      String body = inferBody("FP32", "[1,4]", "[" + v + ",1,0,-1]").replace("req-7", "r" + i);
      pending.add(client.sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2/models/linear/infer"))
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < pending.size(); i++) {
      HttpResponse<String> r = pending.get(i).get();
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode body = JSON.readTree(r.body());
      assertThat(body.get("id").asText()).isEqualTo("r" + i);
      float[] expected = LinearSoftmaxModel.expectedProbs(new float[] {i, 1, 0, -1});
      assertThat(body.get("outputs").get(0).get("data").get(0).floatValue()).isCloseTo(expected[0], within(1e-5f));
    }
  }

  @Test
  void metricsAndStatusPageReportTheTraffic() throws Exception {
    assertGoodInferenceWorks();
    call("POST", "/v2/models/linear/infer", "{");
    Reply metrics = call("GET", "/metrics", null);
    assertThat(metrics.status()).isEqualTo(200);
    assertThat(metrics.text())
        .contains("shoal_gateway_requests_total{model=\"linear\",outcome=\"ok\",protocol=\"http\"}")
        .contains("shoal_gateway_requests_total{model=\"linear\",outcome=\"bad_input\",protocol=\"http\"}")
        .contains("shoal_gateway_request_duration_seconds_bucket")
        .contains("shoal_gateway_requests_in_flight");
    Reply page = call("GET", "/", null);
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.text()).contains("<td>linear</td>").contains("x FP32 [-1, 4]").contains("local ONNX Runtime session");
  }

  @Test
  void aClientThatHangsUpDoesNotStopTheServer() throws IOException, Exception {
    try (Socket s = new Socket("127.0.0.1", gateway.httpPort())) {
      s.getOutputStream().write("POST /v2/models/linear/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in"
          .getBytes(StandardCharsets.US_ASCII));
    }
    assertGoodInferenceWorks();
  }
}
