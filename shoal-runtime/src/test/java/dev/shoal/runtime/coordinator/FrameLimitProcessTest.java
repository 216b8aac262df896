package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.graph.Batching;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.worker.WorkerMain;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The plan-derived frame limit against real workers: a two-stage plan whose first stage widens 16
 * features to 4,096 (16 KiB per sample between the stages), workers and coordinator with a 1 MiB
 * frame limit, so 64 samples is the largest batch the plan carries. A batch of 64 is answered
 * (that frame is exactly the limit), a batch of 65 is refused by the gateway before any work,
 * naming the stage, the frame and the largest batch. Dynamic batching that could join admitted
 * requests into 65 samples is refused when the plan starts; up to 64 it joins them and answers.
 */
class FrameLimitProcessTest {
  private static final int IN = 16;
  private static final int WIDE = 4096;
  private static final int OUT = 4;
  private static final int FRAME_LIMIT = 1 << 20;
  private static final Path LOGS = Path.of("target", "frame-limit-test-logs");
  private static final PlanBackend.Options OPTIONS = new PlanBackend.Options(1024, FRAME_LIMIT);
  private static Path dir;
  private static PeerSecurity security;
  private static final List<WorkerProcess> workers = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();

  @BeforeAll
  static void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-frame-limit-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    for (String name : List.of("w0", "w1")) {
      WorkerProcess p = WorkerProcess.startMain(List.of(), name, WorkerMain.class.getName(), List.of("--listen",
          "127.0.0.1:0", "--name", name, "--credentials", dir.resolve(name).toString(), "--max-frame-bytes",
          Integer.toString(FRAME_LIMIT)), LOGS.resolve(name + ".log"));
      workers.add(p);
      endpoints.add(new WorkerEndpoint(name, p.address()));
    }
  }

  @AfterAll
  static void stopWorkers() throws IOException {
    workers.forEach(WorkerProcess::close);
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  /** The two-stage plan on w0 and w1, its stages batching requests as {@code batching} says. */
  private static FixedPlacement widePlan(Batching batching) {
    PlanBundle b = FixedPlacement.chain("wide", List.of(widen(), narrow()), List.of("w0", "w1"), "raw", new double[2])
        .original();
    return new FixedPlacement(b.with(b.plan().withStages(b.plan().stages().stream().map(s -> s.withBatching(batching))
        .toList())));
  }

  private static float[] gaussian(int n, long seed) {
    float[] x = new float[n];
    Random r = new Random(seed);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return x;
  }

  /** What the two stages chained in this process answer for {@code rows} samples {@code x}. */
  private static float[] expected(int rows, float[] x) {
    try (OnnxSession a = OnnxSession.open(widen(), OnnxSession.Options.DEFAULT);
        OnnxSession b = OnnxSession.open(narrow(), OnnxSession.Options.DEFAULT)) {
      return b.run(a.run(Map.of("x", TensorData.ofFloats("x", new long[] {rows, IN}, x)))).get("y").floats();
    }
  }

  private static byte[] widen() {
    GraphBuilder g = new GraphBuilder("widen");
    Random r = new Random(3);
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, IN);
    String h = g.node("Gemm", x, g.randomWeight("w1", r, 0.2f, IN, WIDE), g.randomWeight("b1", r, 0.1f, WIDE))
        .outputs("h").out();
    g.output(h, DType.FLOAT, GraphBuilder.BATCH, WIDE);
    return g.build().toByteArray();
  }

  private static byte[] narrow() {
    GraphBuilder g = new GraphBuilder("narrow");
    Random r = new Random(4);
    String h = g.input("h", DType.FLOAT, GraphBuilder.BATCH, WIDE);
    String y = g.node("Gemm", h, g.randomWeight("w2", r, 0.02f, WIDE, OUT), g.randomWeight("b2", r, 0.1f, OUT))
        .outputs("y").out();
    g.output(y, DType.FLOAT, GraphBuilder.BATCH, OUT);
    return g.build().toByteArray();
  }

  private static String body(int batch, float[] x) {
    StringBuilder d = new StringBuilder();
    for (float v : x) {
      d.append(d.length() == 0 ? "" : ",").append(v);
    }
    return "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[" + batch + "," + IN + "],\"data\":[" + d
        + "]}]}";
  }

  @Test
  void aBatchWhoseIntermediateFrameWouldPassTheLimitGetsA413BeforeAnyWork() throws Exception {
    try (PlanBackend backend = PlanBackend.start(endpoints, List.of(widePlan(Batching.NONE)), security, OPTIONS);
        Gateway gateway = Gateway.start(backend, 0, 0)) {
      String s0 = backend.plan().stages().get(0).id();
      String s1 = backend.plan().stages().get(1).id();
      HttpClient http = HttpClient.newHttpClient();
      URI infer = URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2/models/wide/infer");

      // 64 samples: a frame of exactly 1 MiB between the stages, carried and answered right
      float[] x = gaussian(64 * IN, 5);
      float[] want = expected(64, x);
      HttpResponse<String> ok = http.send(HttpRequest.newBuilder(infer).POST(HttpRequest.BodyPublishers.ofString(
          body(64, x))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
      var data = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ok.body()).get("outputs").get(0)
          .get("data");
      float[] got = new float[data.size()];
      for (int i = 0; i < got.length; i++) {
        got[i] = data.get(i).floatValue();
      }
      assertThat(got).containsExactly(want, within(1e-4f));

      // 65 samples: refused at the gateway, from the plan, before any stage runs
      HttpResponse<String> refused = http.send(HttpRequest.newBuilder(infer).POST(HttpRequest.BodyPublishers
          .ofString(body(65, new float[65 * IN]))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(413);
      assertThat(refused.body()).contains("a batch of 65 is too large for plan 'fixed': stage '" + s0
          + "' would send stage '" + s1 + "' a frame of 1,064,960 bytes (h: 16,384 bytes per sample), over the"
          + " 1,048,576-byte frame limit; this plan carries at most 64 per request, split it");

      // and the same for a programmatic caller of the backend
      var direct = backend.run("wide", Map.of("x", TensorData.ofFloats("x", new long[] {65, IN}, new float[65 * IN])),
          Duration.ofSeconds(30));
      assertThat(direct).failsWithin(5, TimeUnit.SECONDS).withThrowableOfType(ExecutionException.class)
          .havingCause().isInstanceOfSatisfying(InferenceException.class,
              e -> assertThat(e.kind()).isEqualTo(InferenceException.Kind.TOO_LARGE));
    }
  }

  @Test
  void dynamicBatchingPastTheFrameLimitIsRefusedAtStartAndUpToItJoinsRequestsThatAreAnswered() throws Exception {
    // 65 samples: a batch of admitted requests would make a 1,064,960-byte frame between the stages
    assertThatThrownBy(() -> PlanBackend.start(endpoints, List.of(widePlan(new Batching(65, List.of(), 1_000))),
        security, OPTIONS)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("plan 'fixed': dynamic batching up to 65 samples would pass the frame limit: at 65"
            + " samples stage '")
        .hasMessageEndingWith("a frame of 1,064,960 bytes (h: 16,384 bytes per sample), over the 1,048,576-byte"
            + " limit; set the max batch size to at most 64");

    // 64: four requests of 16 samples leave as one batch (preferred size 64) and each gets its answer
    try (PlanBackend backend = PlanBackend.start(endpoints, List.of(widePlan(new Batching(64, List.of(64),
        60_000_000))), security, OPTIONS)) {
      List<float[]> inputs = new ArrayList<>();
      List<CompletableFuture<InferenceResult>> answers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        inputs.add(gaussian(16 * IN, 10 + i));
        answers.add(backend.infer(InferenceCall.within("wide", Map.of("x", TensorData.ofFloats("x",
            new long[] {16, IN}, inputs.get(i))), Duration.ofSeconds(30))));
      }
      for (int i = 0; i < 4; i++) {
        InferenceResult r = answers.get(i).get(30, TimeUnit.SECONDS);
        assertThat(r.parameters()).containsEntry(PlanBackend.PARAM_BATCH, "64");
        assertThat(r.outputs().get("y").floats()).containsExactly(expected(16, inputs.get(i)), within(1e-4f));
      }
    }
  }
}
