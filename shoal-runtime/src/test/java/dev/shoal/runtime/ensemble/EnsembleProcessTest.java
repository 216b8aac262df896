package dev.shoal.runtime.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.plan.graph.MergeRule;
import dev.shoal.plan.strategy.EnsembleProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Variant and class parallelism across real worker processes on loopback: a frozen worker
 * (SIGSTOP) is answered around by the deadline — CP loses that worker's classes — and SIGKILLed
 * workers leave VP answering, through the gateway, from the survivors (their optional stages are
 * lost, no re-plan), and the answers say which members made them.
 */
class EnsembleProcessTest {

  private static final int CLASSES = 6;
  private static final int K = 2;
  private static final double[] WEIGHTS = {1.0, 0.7, 0.4};
  private static final int[][] OWNED = {{0, 3}, {1, 4}, {2, 5}};
  private static final float[] X = {0.5f, -1f, 2f, 0.25f};
  private static final Path LOGS = Path.of("target", "ensemble-test-logs");

  private static Path dir;
  private static final List<WorkerProcess> workers = new ArrayList<>();
  private static final Duration DEADLINE = Duration.ofSeconds(1);
  private static PlanBackend vp;
  private static PlanBackend cp;
  private static Gateway gateway;

  @BeforeAll
  static void start() throws IOException {
    dir = Files.createTempDirectory("shoal-ensemble-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1", "w2"));
    List<WorkerEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0, dir.resolve("w" + i),
          LOGS.resolve("w" + i + ".log"));
      workers.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    workerEndpoints = endpoints;
  }

  private static PeerSecurity security;
  private static List<WorkerEndpoint> workerEndpoints;

  private static PlanBackend deployCp() {
    List<EnsembleProducer.Member> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add(new EnsembleProducer.Member("cp" + i,
          TopKModels.scoresOnnx(TopKModels.weights(20 + i, OWNED[i].length), OWNED[i].length),
          Map.of("scores", "scores"), 1, java.util.Arrays.stream(OWNED[i]).boxed().toList()));
    }
    return PlanBackend.start(workerEndpoints, List.of(EnsembleProducer.onEqualDevices("cp", "class-parallel",
        new MergeRule.ClassConcat(CLASSES), DEADLINE.toMillis(), members, names())), security,
        PlanBackend.Options.DEFAULT);
  }

  private static PlanBackend deployVp() {
    List<EnsembleProducer.Member> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add(new EnsembleProducer.Member("v" + i, TopKModels.onnx(TopKModels.weights(i, CLASSES), CLASSES, K),
          Map.of("ids", "classes", "scores", "scores"), WEIGHTS[i], List.of()));
    }
    return PlanBackend.start(workerEndpoints, List.of(EnsembleProducer.onEqualDevices("vp", "variants",
        new MergeRule.TopKFusion(CLASSES), DEADLINE.toMillis(), members, names())), security,
        PlanBackend.Options.DEFAULT);
  }

  private static List<String> names() {
    return workerEndpoints.stream().map(WorkerEndpoint::name).toList();
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    if (vp != null) {
      vp.close();
    }
    if (cp != null) {
      cp.close();
    }
    for (WorkerProcess w : workers) {
      if (w.isAlive()) {
        signal("CONT", w); // a worker frozen by a failed assertion must be able to exit
      }
      w.close();
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private static void signal(String name, WorkerProcess w) {
    try {
      Process p = new ProcessBuilder("kill", "-" + name, Long.toString(w.pid())).inheritIO().start();
      assertThat(p.waitFor()).as("kill -%s %d", name, w.pid()).isZero();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("cannot signal worker " + w.name(), e);
    }
  }

  private static float[] expectedVp(int... variants) {
    List<TopKFusion.Answer> answers = new ArrayList<>();
    for (int v : variants) {
      answers.add(TopKModels.topK(TopKModels.weights(v, CLASSES), CLASSES, K, X, WEIGHTS[v]));
    }
    return EnsembleOutputs.softmax(TopKFusion.fuse(CLASSES, answers));
  }

  private static Map<String, TensorData> ask(dev.shoal.runtime.serving.ServingBackend b, String model)
      throws Exception {
    var r = b.infer(dev.shoal.runtime.serving.InferenceCall.within(model,
        Map.of("x", TensorData.ofFloats("x", new long[] {1, 4}, X)), Duration.ofSeconds(60))).get();
    System.out.println(model + " answered: " + r.parameters());
    return r.outputs();
  }

  private static JsonNode askOverHttp() throws Exception {
    String body = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[0.5,-1,2,0.25]}]}";
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2/models/vp/infer"))
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode outputs = new ObjectMapper().readTree(r.body()).get("outputs");
    JsonNode byName = new ObjectMapper().createObjectNode();
    for (JsonNode o : outputs) {
      ((com.fasterxml.jackson.databind.node.ObjectNode) byName).set(o.get("name").asText(), o.get("data"));
    }
    return byName;
  }

  /**
   * Asks until every member answers in time: fresh worker JVMs on a busy host can miss the merge's
   * one-second wait on their first requests.
   */
  private static void awaitWhole(dev.shoal.runtime.serving.ServingBackend b, String model) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < end) {
      try {
        if (!EnsembleOutputs.degraded(ask(b, model))) {
          return;
        }
      } catch (java.util.concurrent.ExecutionException e) {
        System.out.println(model + " failed: " + e.getCause().getMessage()); // every worker falsely down: retry
      }
      Thread.sleep(100);
    }
    throw new AssertionError("'" + model + "' did not answer from every member within 20 s");
  }

  @Test
  void survivesAFrozenWorkerThenKilledWorkers() throws Exception {
    // class parallelism: all up (one sub-model per worker: placed by cost on equal devices), then
    // w1 frozen loses classes 1 and 4
    cp = deployCp();
    assertThat(cp.plan().stages()).extracting(s -> s.devices().get(0)).containsExactly("w0", "w1", "w2");
    awaitWhole(cp, "cp");
    signal("STOP", workers.get(1));
    try {
      Map<String, TensorData> cpFrozen = ask(cp, "cp");
      assertThat(EnsembleOutputs.degraded(cpFrozen)).isTrue();
      assertThat(EnsembleOutputs.answered(cpFrozen)).isEqualTo(2);
      assertThat(cpFrozen.get("probabilities").floats()[1]).isZero();
      assertThat(cpFrozen.get("probabilities").floats()[4]).isZero();
    } finally {
      signal("CONT", workers.get(1));
    }
    cp.close();
    cp = null;

    // variant parallelism: all up, the exact fusion of all three, not degraded, over HTTP
    vp = deployVp();
    gateway = Gateway.start(vp, 0, 0);
    awaitWhole(vp, "vp");
    JsonNode all = askOverHttp();
    float[] want = expectedVp(0, 1, 2);
    for (int c = 0; c < CLASSES; c++) {
      assertThat(all.get("probabilities").get(c).floatValue()).isCloseTo(want[c], within(1e-5f));
    }
    assertThat(all.get("degraded").get(0).asBoolean()).isFalse();
    Map<String, String> params = vp.infer(dev.shoal.runtime.serving.InferenceCall.within("vp",
        Map.of("x", TensorData.ofFloats("x", new long[] {1, 4}, X)), Duration.ofSeconds(60))).get().parameters();
    assertThat(params).containsEntry(PlanBackend.PARAM_PLAN, "variants").containsEntry(PlanBackend.PARAM_DEGRADED, "false")
        .containsEntry(PlanBackend.PARAM_ANSWERED, "v0,v1,v2");

    // w1 frozen: the deadline answers from v0 and v2, marked degraded; CP loses classes 1 and 4
    signal("STOP", workers.get(1));
    try {
      Map<String, TensorData> frozen = ask(vp, "vp");
      assertThat(EnsembleOutputs.degraded(frozen)).isTrue();
      assertThat(EnsembleOutputs.answered(frozen)).isEqualTo(2);
      assertThat(frozen.get("probabilities").floats()).containsExactly(expectedVp(0, 2), within(1e-5f));
      Map<String, String> degraded = vp.infer(dev.shoal.runtime.serving.InferenceCall.within("vp",
          Map.of("x", TensorData.ofFloats("x", new long[] {1, 4}, X)), Duration.ofSeconds(60))).get().parameters();
      assertThat(degraded).containsEntry(PlanBackend.PARAM_DEGRADED, "true").containsEntry(PlanBackend.PARAM_ANSWERED, "v0,v2");
      assertThat(degraded.get(PlanBackend.PARAM_MISSING)).startsWith("v1: ");
    } finally {
      signal("CONT", workers.get(1));
    }
    awaitWhole(vp, "vp"); // w1 rejoins

    // SIGKILL w2, then w1: VP keeps answering over HTTP from what is left
    workers.get(2).kill();
    JsonNode oneDown = askOverHttp();
    assertThat(oneDown.get("degraded").get(0).asBoolean()).isTrue();
    assertThat(oneDown.get("answered").get(0).asInt()).isEqualTo(2);
    workers.get(1).kill();
    JsonNode twoDown = askOverHttp();
    assertThat(twoDown.get("answered").get(0).asInt()).isEqualTo(1);
    float[] onlyV0 = expectedVp(0);
    for (int c = 0; c < CLASSES; c++) {
      assertThat(twoDown.get("probabilities").get(c).floatValue()).isCloseTo(onlyV0[c], within(1e-5f));
    }
    // detection is asynchronous (heartbeats): the answers above came from the merge's deadline
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!String.join("\n", vp.status()).contains("DOWN") && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    assertThat(String.join("\n", vp.status())).contains("DOWN");
  }
}
