package dev.shoal.bench.pipeline;

import dev.shoal.bench.Percentiles;
import java.time.Duration;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.model.TensorData;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.worker.OrtStack;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.wire.proto.StatusReply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The coordinator side of one throughput measurement, as its own process so that it can run
 * inside the coordinator's network namespace: deploys the given stage files on the given workers
 * (in order), keeps {@code window} requests in flight until {@code requests} are answered, and
 * prints one JSON line with the steady-state throughput (between 10% and 90% of the answers),
 * latency percentiles and bytes per link.
 *
 * <p>Arguments: MODEL.onnx STAGE_DIR CREDENTIALS_DIR|plaintext REQUESTS WINDOW CODEC name=host:port..., optionally
 * {@code --reference=S0,S1,...} (each stage's compute on the reference host, seconds: what the
 * workers' emulated devices scale) and, for fault injection, {@code --fault-after=K
 * --fault=COMMAND} (run after the K-th request is sent).
 * Each answer is compared with the whole model's, run in this process.
 */
public final class ThroughputProbe {
  private static final int DISTINCT_INPUTS = 8;
  /** In place of the coordinator's credentials directory: plaintext links (the TLS-overhead baseline). */
  static final String PLAINTEXT = "plaintext";

  private ThroughputProbe() {}

  public static void main(String[] args) throws Exception {
    Path modelFile = Path.of(args[0]);
    Path stageDir = Path.of(args[1]);
    PeerSecurity security = args[2].equals(PLAINTEXT)
        ? PeerSecurity.insecurePlaintext(new PeerIdentity(BenchCerts.COORDINATOR, NodeRole.COORDINATOR))
        : PeerSecurity.mutualTls(NodeCredentials.load(Path.of(args[2])));
    int requests = Integer.parseInt(args[3]);
    int window = Integer.parseInt(args[4]);
    TensorCodec codec = TensorCodec.parse(args[5]);
    List<WorkerEndpoint> workers = new ArrayList<>();
    int faultAfter = -1;
    List<String> fault = List.of();
    double[] reference = null;
    for (int i = 6; i < args.length; i++) {
      if (args[i].startsWith("--fault-after=")) {
        faultAfter = Integer.parseInt(args[i].substring("--fault-after=".length()));
      } else if (args[i].startsWith("--reference=")) {
        reference = java.util.Arrays.stream(args[i].substring("--reference=".length()).split(","))
            .mapToDouble(Double::parseDouble).toArray();
      } else if (args[i].startsWith("--fault=")) {
        fault = List.of(args[i].substring("--fault=".length()).split(" "));
      } else {
        String[] kv = args[i].split("=", 2);
        workers.add(new WorkerEndpoint(kv[0], kv[1]));
      }
    }
    List<byte[]> stages = new ArrayList<>();
    for (int i = 0; Files.exists(stageDir.resolve("stage-" + i + ".onnx")); i++) {
      stages.add(Files.readAllBytes(stageDir.resolve("stage-" + i + ".onnx")));
    }
    ModelGraph graph = OrtStack.call("load", () -> ModelGraph.load(modelFile));
    ServedModel model = PreparedModel.servedModel("model", graph);
    FixedPlacement planner = FixedPlacement.chain(model.name(), stages,
        workers.stream().map(WorkerEndpoint::name).toList(), codec.label(),
        reference == null ? new double[stages.size()] : reference);
    List<Map<String, TensorData>> inputs = new ArrayList<>();
    for (int i = 0; i < DISTINCT_INPUTS; i++) {
      inputs.add(SampleInputs.random(graph, 1, 11 + i));
    }
    List<Map<String, TensorData>> expected = OrtStack.call("reference", () -> {
      try (OnnxSession whole = OnnxSession.open(graph.orderedModel().toByteArray(), OnnxSession.Options.DEFAULT)) {
        return inputs.stream().map(whole::run).toList();
      }
    });
    PlanBackend.Options options = new PlanBackend.Options(Math.max(1024, window * 2),
        PlanBackend.Options.DEFAULT.maxFrameBytes());
    try (PlanBackend b = PlanBackend.start(workers, List.of(planner), security, options)) {
      // warm-up: JIT, sessions, connections
      for (int i = 0; i < Math.min(20, requests); i++) {
        b.run(model.name(), inputs.get(i % DISTINCT_INPUTS), Duration.ofSeconds(120)).get();
      }
      Semaphore inFlight = new Semaphore(window);
      long[] doneAt = new long[requests];
      double[] latencyMs = new double[requests];
      AtomicInteger done = new AtomicInteger();
      AtomicInteger errors = new AtomicInteger();
      List<CompletableFuture<?>> all = new ArrayList<>();
      List<PlanBackend.LinkStats> before = b.linkStats();
      List<StatusReply> statusBefore = workers.stream().map(b::status).toList();
      AtomicInteger mismatches = new AtomicInteger();
      for (int i = 0; i < requests; i++) {
        inFlight.acquire();
        long t0 = System.nanoTime();
        int which = i % DISTINCT_INPUTS;
        all.add(b.run(model.name(), inputs.get(which), Duration.ofSeconds(120)).whenComplete((out, err) -> {
          long now = System.nanoTime();
          int k = done.getAndIncrement();
          doneAt[k] = now;
          latencyMs[k] = (now - t0) / 1e6;
          if (err != null) {
            errors.incrementAndGet();
          } else if (!ModelAgreement.agrees(out, expected.get(which))) {
            mismatches.incrementAndGet();
          }
          inFlight.release();
        }));
        if (i == faultAfter) {
          runFault(fault);
        }
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
      List<PlanBackend.LinkStats> after = b.linkStats();
      List<StatusReply> statusAfter = workers.stream().map(b::status).toList();
      int lo = requests / 10;
      int hi = requests * 9 / 10;
      double seconds = (doneAt[hi] - doneAt[lo]) / 1e9;
      Percentiles lat = Percentiles.of(latencyMs);
      ObjectMapper json = new ObjectMapper();
      ObjectNode r = json.createObjectNode();
      r.put("completed", requests - errors.get());
      r.put("errors", errors.get());
      r.put("throughput", (hi - lo) / seconds);
      r.put("p50Ms", lat.p50());
      r.put("p99Ms", lat.p99());
      ArrayNode links = r.putArray("links");
      for (int i = 0; i < after.size(); i++) {
        PlanBackend.LinkStats a = after.get(i);
        PlanBackend.LinkStats z = before.get(i);
        long frames = a.frames() - z.frames();
        links.addObject().put("from", a.from()).put("to", a.to())
            .put("bytesPerInference", frames == 0 ? 0 : (double) (a.bytes() - z.bytes()) / frames);
      }
      ArrayNode perStage = r.putArray("stages");
      for (int i = 0; i < workers.size(); i++) {
        StatusReply z = statusBefore.get(i);
        StatusReply a = statusAfter.get(i);
        if (a == null || z == null) {
          perStage.addObject().put("worker", workers.get(i).name()).put("unreachable", true);
          continue;
        }
        long frames = a.getFramesIn() - z.getFramesIn();
        perStage.addObject().put("worker", workers.get(i).name()).put("warmMs", a.getStageSeconds() * 1e3)
            .put("computeMs", frames == 0 ? 0 : (a.getComputeSeconds() - z.getComputeSeconds()) * 1e3 / frames)
            .put("queueMs", frames == 0 ? 0 : (a.getQueueSeconds() - z.getQueueSeconds()) * 1e3 / frames);
      }
      r.put("mismatches", mismatches.get());
      r.put("lateDuplicates", b.duplicateResults());
      ArrayNode recoveries = r.putArray("recoveries");
      for (PlanBackend.Recovery rec : b.recoveries()) {
        recoveries.addObject().put("worker", rec.worker()).put("detectionSeconds", rec.detectionSeconds())
            .put("recoverySeconds", rec.recoverySeconds()).put("replayed", rec.replayed());
      }
      System.out.println("RESULT " + json.writeValueAsString(r));
    }
    System.exit(0);
  }

  /** Runs the fault command (e.g. {@code ip -n NS link set p2 down}); the probe fails if it does. */
  private static void runFault(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("fault command failed: " + String.join(" ", cmd));
    }
    System.out.println("FAULT " + String.join(" ", cmd));
  }
}
