package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.worker.WorkerMain;
import dev.shoal.runtime.worker.WorkerProcess;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The plan-derived early 413 against real workers: a two-stage plan whose first stage widens 16
 * features to 4,096 (16 KiB per sample between the stages), workers and coordinator with a 1 MiB
 * frame limit, so 64 samples is the largest batch the plan carries. A batch of 64 is answered
 * (that frame is exactly the limit), a batch of 65 is refused by the gateway before any work,
 * naming the stage, the frame and the largest batch.
 */
class FrameLimitProcessTest {
  private static final int IN = 16;
  private static final int WIDE = 4096;
  private static final int OUT = 4;
  private static final int FRAME_LIMIT = 1 << 20;
  private static final Path LOGS = Path.of("target", "frame-limit-test-logs");

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
    Path dir = Files.createTempDirectory("shoal-frame-limit-test");
    Files.createDirectories(LOGS);
    List<WorkerProcess> workers = new ArrayList<>();
    try {
      CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1"));
      List<WorkerEndpoint> endpoints = new ArrayList<>();
      for (String name : List.of("w0", "w1")) {
        WorkerProcess p = WorkerProcess.startMain(List.of(), name, WorkerMain.class.getName(), List.of("--listen",
            "127.0.0.1:0", "--name", name, "--credentials", dir.resolve(name).toString(), "--max-frame-bytes",
            Integer.toString(FRAME_LIMIT)), LOGS.resolve(name + ".log"));
        workers.add(p);
        endpoints.add(new WorkerEndpoint(name, p.address()));
      }
      byte[] widen = widen();
      byte[] narrow = narrow();
      PeerSecurity security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
      try (PlanBackend backend = PlanBackend.start(endpoints, List.of(FixedPlacement.chain("wide", List.of(widen,
              narrow), List.of("w0", "w1"), "raw", new double[2])), security,
              new PlanBackend.Options(1024, FRAME_LIMIT));
          Gateway gateway = Gateway.start(backend, 0, 0)) {
        String s0 = backend.plan().stages().get(0).id();
        String s1 = backend.plan().stages().get(1).id();
        HttpClient http = HttpClient.newHttpClient();
        URI infer = URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v2/models/wide/infer");

        // 64 samples: a frame of exactly 1 MiB between the stages, carried and answered right
        float[] x = new float[64 * IN];
        Random r = new Random(5);
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) r.nextGaussian();
        }
        float[] want;
        try (OnnxSession a = OnnxSession.open(widen, OnnxSession.Options.DEFAULT);
            OnnxSession b = OnnxSession.open(narrow, OnnxSession.Options.DEFAULT)) {
          want = b.run(a.run(Map.of("x", TensorData.ofFloats("x", new long[] {64, IN}, x)))).get("y").floats();
        }
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
    } finally {
      workers.forEach(WorkerProcess::close);
      try (var files = Files.walk(dir)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }
}
