package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.ModelInput;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterYaml;
import dev.shoal.plan.solve.ExactSolver;
import dev.shoal.runtime.ensemble.EnsembleOutputs;
import dev.shoal.runtime.ensemble.TopKModels;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.gateway.GatewayOptions;
import dev.shoal.runtime.gateway.kserve.GRPCInferenceServiceGrpc;
import dev.shoal.runtime.gateway.kserve.InferTensorContents;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.gateway.kserve.ModelInferResponse;
import dev.shoal.runtime.pipeline.ChainModels;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What {@code shoal serve} wires, against real {@code shoal worker} processes named in a cluster
 * YAML: a variant family from its family.json, then a model planned over the cluster (3 stages),
 * both through the gateway over HTTP and gRPC; bad requests get a 4xx / the right gRPC code while
 * the service keeps answering; /metrics and the status page show the pipeline; after SIGKILL of a
 * worker the re-plan on the survivors still answers correctly.
 */
class ServeProcessTest {

  private static final int WIDTH = 64;
  private static final int LAYERS = 6;
  private static final int CLASSES = 6;
  private static final int K = 2;
  private static final double[] WEIGHTS = {1.0, 0.6, 0.3};
  private static final float[] X4 = {0.5f, -1f, 2f, 0.25f};
  private static final long LIMIT = 64 * 1024;
  private static final Path LOGS = Path.of("target", "serve-test-logs");

  private static Path dir;
  private static final List<WorkerProcess> workers = new ArrayList<>();
  private static Cluster cluster;
  private static PeerSecurity security;
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() throws IOException {
    dir = Files.createTempDirectory("shoal-serve-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1", "w2"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    StringBuilder yaml = new StringBuilder("""
        # layers of 4096 MACs take 4 ms at 1 MMAC/s: the planner splits the 6-layer chain over all 3
        macsPerSecond: 1.0e6
        defaults: {bandwidth: 1Gbit, latency: 0.1ms}
        devices:
        """);
    for (int i = 0; i < 3; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0, dir.resolve("w" + i),
          LOGS.resolve("w" + i + ".log"));
      workers.add(p);
      yaml.append("  - {name: w").append(i).append(", address: ").append(p.address())
          .append(", memory: 256MiB, speed: 1.0}\n");
    }
    Path clusterFile = dir.resolve("cluster.yaml");
    Files.writeString(clusterFile, yaml);
    cluster = ClusterYaml.read(clusterFile);
  }

  @AfterAll
  static void stop() throws IOException {
    for (WorkerProcess w : workers) {
      w.close();
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private record Reply(int status, JsonNode body) {}

  private static Reply post(Gateway g, String path, String body) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), JSON.readTree(r.body()));
  }

  private static String get(Gateway g, String path) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + path))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
    return r.body();
  }

  private static String inferBody(String input, String datatype, long[] shape, float[] data) {
    StringBuilder d = new StringBuilder();
    for (float v : data) {
      d.append(d.length() == 0 ? "" : ",").append(v);
    }
    return "{\"inputs\":[{\"name\":\"" + input + "\",\"datatype\":\"" + datatype + "\",\"shape\":"
        + java.util.Arrays.toString(shape) + ",\"data\":[" + d + "]}]}";
  }

  private static float[] floats(JsonNode output) {
    JsonNode data = output.get("data");
    float[] out = new float[data.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = data.get(i).floatValue();
    }
    return out;
  }

  private static JsonNode output(JsonNode response, String name) {
    for (JsonNode o : response.get("outputs")) {
      if (o.get("name").asText().equals(name)) {
        return o;
      }
    }
    throw new AssertionError("no output '" + name + "' in " + response);
  }

  @Test
  void servesAVariantFamilyThenAPlannedPipelineFromTheClusterFile() throws Exception {
    servesTheVariantFamily();
    servesThePlannedPipeline();
  }

  private void servesTheVariantFamily() throws Exception {
    Path family = dir.resolve("family");
    Files.createDirectories(family);
    List<VariantFamilyManifest.Variant> variants = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Files.write(family.resolve("v" + i + ".onnx"), TopKModels.onnx(TopKModels.weights(i, CLASSES), CLASSES, K));
      variants.add(new VariantFamilyManifest.Variant("v" + i, "v" + i + ".onnx", 4, 1.0, 4, 4L * CLASSES,
          4L * CLASSES, WEIGHTS[i], K, "classes", "scores", 0.5));
    }
    new VariantFamilyManifest(1, "tiny-family", CLASSES, new ModelInput("x", List.of(-1L, 4L), 0f, 1f, "none"),
        VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM, variants).write(family.resolve(VariantFamilyManifest.FILE_NAME));

    ClusterServing.Served served = ClusterServing.serve(List.of(ClusterServing.variants(family, cluster,
        Duration.ofSeconds(2))), cluster, security, PlanBackend.Options.DEFAULT);
    try (Gateway g = Gateway.start(served.backend(), 0, 0)) {
      assertThat(served.plan()).contains("stage v0   on w0", "stage v2   on w2", "merge merge: TopKFusion");
      // fresh worker JVMs on a busy host may miss the merge's wait (or a heartbeat) at first: ask
      // until every variant answers
      Reply r = post(g, "/v2/models/tiny-family/infer", inferBody("x", "FP32", new long[] {1, 4}, X4));
      long settle = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while ((r.status() != 200 || output(r.body(), EnsembleOutputs.DEGRADED).get("data").get(0).asBoolean())
          && System.nanoTime() < settle) {
        Thread.sleep(100);
        r = post(g, "/v2/models/tiny-family/infer", inferBody("x", "FP32", new long[] {1, 4}, X4));
      }
      assertThat(r.status()).as("%s", r.body()).isEqualTo(200);
      List<TopKFusion.Answer> answers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        answers.add(TopKModels.topK(TopKModels.weights(i, CLASSES), CLASSES, K, X4, WEIGHTS[i]));
      }
      float[] want = EnsembleOutputs.softmax(TopKFusion.fuse(CLASSES, answers));
      assertThat(floats(output(r.body(), EnsembleOutputs.PROBABILITIES))).containsExactly(want, within(1e-5f));
      assertThat(output(r.body(), EnsembleOutputs.DEGRADED).get("data").get(0).asBoolean()).isFalse();
    } finally {
      served.backend().close();
    }
  }

  private void servesThePlannedPipeline() throws Exception {
    Path model = dir.resolve("chain.onnx");
    byte[] onnx = ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1);
    Files.write(model, onnx);
    float[] x = new float[WIDTH];
    for (int i = 0; i < WIDTH; i++) {
      x[i] = (float) Math.sin(i);
    }
    float[] want;
    try (OnnxSession s = OnnxSession.open(onnx, OnnxSession.Options.DEFAULT)) {
      want = s.run(Map.of("x", TensorData.ofFloats("x", new long[] {1, WIDTH}, x))).get("y").floats();
    }
    ClusterServing.Served served = ClusterServing.serve(List.of(ClusterServing.pipeline(model, cluster,
        new ExactSolver(), "raw", false)), cluster, security, PlanBackend.Options.DEFAULT);
    PlanBackend pipeline = (PlanBackend) served.backend();
    Gateway g = Gateway.start(pipeline, 0, 0, GatewayOptions.defaults().withMaxRequestBytes(LIMIT));
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", g.grpcPort(),
        InsecureChannelCredentials.create()).build();
    try {
      assertThat(pipeline.plan().stages()).hasSize(3);
      assertThat(served.plan()).contains("stage s0   on w", "stage s2   on w", "predicted");
      String infer = "/v2/models/chain/infer";
      String good = inferBody("x", "FP32", new long[] {1, WIDTH}, x);
      Reply ok = post(g, infer, good);
      assertThat(ok.status()).as("%s", ok.body()).isEqualTo(200);
      assertThat(floats(output(ok.body(), "y"))).containsExactly(want, within(1e-5f));

      // bad requests over HTTP: a 4xx with a clear message, and the service keeps answering
      record Bad(String path, String body, int status, String message) {}
      for (Bad b : List.of(
          new Bad(infer, "{\"inputs\": [{\"name\":", 400, "malformed JSON"),
          new Bad(infer, inferBody("x", "FP32", new long[] {1, WIDTH + 1}, new float[WIDTH + 1]), 400, "must have shape"),
          new Bad(infer, "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1," + WIDTH
              + "],\"data\":[" + "1,".repeat(WIDTH - 1) + "1]}]}", 400, "must be FP32, got INT32"),
          new Bad("/v2/models/nosuch/infer", good, 404, "unknown model 'nosuch'"),
          new Bad(infer, good + " ".repeat((int) LIMIT), 413, "exceeds the limit"))) {
        Reply r = post(g, b.path(), b.body());
        assertThat(r.status()).as("%s -> %s", b, r.body()).isEqualTo(b.status());
        assertThat(r.body().get("error").asText()).contains(b.message());
      }
      assertThat(floats(output(post(g, infer, good).body(), "y"))).containsExactly(want, within(1e-5f));

      // the same over gRPC
      var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
      InferTensorContents.Builder contents = InferTensorContents.newBuilder();
      for (float v : x) {
        contents.addFp32Contents(v);
      }
      ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("chain")
          .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP32")
              .addShape(1).addShape(WIDTH).setContents(contents)).build();
      assertGrpc(() -> stub.modelInfer(request.toBuilder().setModelName("nosuch").build()), Status.Code.NOT_FOUND,
          "unknown model");
      assertGrpc(() -> stub.modelInfer(request.toBuilder().setInputs(0, request.getInputs(0).toBuilder()
          .setShape(1, WIDTH / 2)).build()), Status.Code.INVALID_ARGUMENT, "must have shape [-1, 64]");
      InferTensorContents.Builder ints = InferTensorContents.newBuilder();
      for (int i = 0; i < WIDTH; i++) {
        ints.addIntContents(i);
      }
      assertGrpc(() -> stub.modelInfer(request.toBuilder().setInputs(0, request.getInputs(0).toBuilder()
          .setDatatype("INT32").setContents(ints)).build()), Status.Code.INVALID_ARGUMENT, "must be FP32, got INT32");
      assertGrpc(() -> stub.modelInfer(request.toBuilder().addRawInputContents(
          com.google.protobuf.ByteString.copyFrom(new byte[(int) LIMIT])).build()), Status.Code.RESOURCE_EXHAUSTED,
          "exceeds maximum size");
      ModelInferResponse grpcOk = stub.modelInfer(request);
      float[] got = new float[WIDTH];
      for (int i = 0; i < WIDTH; i++) {
        got[i] = grpcOk.getOutputs(0).getContents().getFp32Contents(i);
      }
      assertThat(got).containsExactly(want, within(1e-5f));

      // metrics of the served pipeline (stage and link figures come with the workers' heartbeats, set every second)
      long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      String metrics = get(g, "/metrics");
      while (!(metrics.contains("shoal_stage_compute_seconds{model=\"chain\",worker=\"w")
          && metrics.contains("shoal_link_bytes{link=\"coordinator->w")) && System.nanoTime() < end) {
        Thread.sleep(200);
        metrics = get(g, "/metrics");
      }
      assertThat(metrics).contains("shoal_gateway_requests_total{model=\"chain\"", "shoal_pipeline_request_seconds",
          "shoal_stage_compute_seconds{model=\"chain\",worker=\"w", "shoal_stage_queue_seconds{model=\"chain\",worker=\"w",
          "shoal_pipeline_in_flight{model=\"chain\"}", "shoal_pipeline_replans_total{model=\"chain\",plan=\"pipeline\"}",
          "shoal_worker_up{worker=\"w2\"} 1.0");
      assertThat(metrics).containsPattern("shoal_link_bytes\\{link=\"coordinator->w\\d\",model=\"chain\",plan=\"pipeline\"\\}");
      assertThat(get(g, "/")).contains("(active): epoch", "worker w1");

      // SIGKILL the last stage's worker: the same cluster without it is re-planned, answers stay right
      String last = pipeline.plan().stages().get(2).devices().get(0);
      workers.stream().filter(w -> w.name().equals(last)).findFirst().orElseThrow().kill();
      Reply after = post(g, infer, good);
      assertThat(after.status()).as("%s", after.body()).isEqualTo(200);
      assertThat(floats(output(after.body(), "y"))).containsExactly(want, within(1e-5f));
      long recovered = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (pipeline.recoveries().stream().noneMatch(r -> r.worker().equals(last)) && System.nanoTime() < recovered) {
        Thread.sleep(50); // the recovery is recorded just after the replay is sent
      }
      assertThat(pipeline.recoveries()).anyMatch(r -> r.worker().equals(last));
      assertThat(pipeline.plan().stages()).noneMatch(s -> s.devices().contains(last));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      g.close();
      pipeline.close();
    }
  }

  private static void assertGrpc(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Status.Code code,
      String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).as(e.toString()).isEqualTo(code);
      assertThat(String.valueOf(e.getStatus().getDescription())).contains(message);
    });
  }
}
