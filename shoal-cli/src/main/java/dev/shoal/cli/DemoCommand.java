package dev.shoal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.pipeline.ModelAgreement;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.worker.OrtStack;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.io.Npy;
import dev.shoal.plan.solve.Solvers;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.PlannedStage;
import dev.shoal.runtime.coordinator.SolverStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code shoal demo}: the whole system on one machine. Starts worker processes that emulate
 * slower devices, plans and deploys the bundled Fashion-MNIST classifier across them, sends the
 * bundled test images through the KServe v2 HTTP API, reports accuracy, throughput, latency, bytes
 * per link and the cost model's prediction; then SIGKILLs a worker mid-stream and shows that every
 * request is still answered.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the bundled Fashion-MNIST classifier from a pipeline of local worker processes (each emulating a",
      "slower device), send the bundled test images through the HTTP API, then kill a worker mid-stream and",
      "show the recovery. Everything runs on this machine and is stopped at the end."
    })
public final class DemoCommand implements Callable<Integer> {
  static final String RESOURCES = "demo/";
  static final double LOOPBACK_BYTES_PER_SECOND = 400e6;
  static final double LOOPBACK_LATENCY_SECONDS = 0.0002;
  static final long PROGRESS_SECONDS = 3;
  /** Held here: java.util.logging keeps only weak references, and a collected logger loses its level. */
  private static final Logger RUNTIME_LOG = Logger.getLogger("dev.shoal.runtime");

  @Option(names = "--device-ms", split = ",", defaultValue = "100,150,200,250",
      description = {"one worker per value: an emulated device that needs this many ms per image for the whole",
          "model; each worker is made K = ms / (this host's ms) times slower (default ${DEFAULT-VALUE})"})
  double[] deviceMs;

  private double[] slowdowns;

  @Option(names = "--images", defaultValue = "0", description = "images to send per phase (default: all bundled)")
  int images;

  @Option(names = "--concurrency", defaultValue = "16", description = "HTTP requests in flight (default ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--solver", defaultValue = "exact", description = "planner: exact, heuristic, greedy, random (default ${DEFAULT-VALUE})")
  String solver;

  @Option(names = "--no-failover", description = "skip the worker-kill phase")
  boolean noFailover;

  @Option(names = "--out", defaultValue = "bench-results/demo", description = "where demo.json goes (default ${DEFAULT-VALUE})")
  Path out;

  private final ObjectMapper json = new ObjectMapper();

  @Override
  public Integer call() throws Exception {
    long start = System.nanoTime();
    if (Arrays.stream(deviceMs).anyMatch(ms -> !(ms > 0))) {
      throw new IllegalArgumentException("--device-ms: every value must be > 0, got " + Arrays.toString(deviceMs));
    }
    if (concurrency < 1 || images < 0) {
      throw new IllegalArgumentException("--concurrency must be >= 1 and --images >= 0");
    }
    byte[] onnx = resource("fashion-classifier.onnx");
    TensorData imagesTensor = Npy.parse("images", resource("fashion-test-images.npy"), "bundled images");
    TensorData labelsTensor = Npy.parse("labels", resource("fashion-test-labels.npy"), "bundled labels");
    long[] labels = longs(labelsTensor);
    int n = images > 0 ? Math.min(images, labels.length) : labels.length;

    // The demo prints the plans itself; keep the coordinator's INFO log (each epoch's plan) out.
    RUNTIME_LOG.setLevel(Level.WARNING);
    System.out.println("== Shoal demo: Fashion-MNIST classifier on a pipeline of " + deviceMs.length
        + " emulated devices");
    PreparedModel model = PreparedModel.of(onnx, "fashion", "bundled fashion-classifier.onnx", 50);
    double hostMs = model.runSeconds() * 1e3;
    System.out.printf(Locale.ROOT, "model: %d nodes, %.2f M MACs, %.0f KB of weights, %.3f ms per image on this host%n",
        model.profile().nodes().size(), model.profile().totalMacs() / 1e6, model.profile().totalParamBytes() / 1e3,
        hostMs);
    slowdowns = Arrays.stream(deviceMs).map(ms -> Math.max(1.0, ms / hostMs)).toArray();
    TensorSpec input = model.served().inputs().get(0);
    TensorSpec output = model.served().outputs().get(0);
    List<TensorData> requests = splitImages(imagesTensor, input, n);
    List<TensorData> expected = singleMachineAnswers(onnx, requests, output.name());
    System.out.printf(Locale.ROOT, "single-machine reference: the whole model answered the %d images in this process%n", n);

    Path work = Files.createTempDirectory("shoal-demo-");
    // a throw-away cluster CA: every link of the demo runs over mutual TLS like a real cluster's
    Path certs = work.resolve("certs");
    CertificateAuthority.provision(certs, List.of("coordinator"),
        java.util.stream.IntStream.rangeClosed(1, slowdowns.length).mapToObj(i -> "dev" + i).toList());
    PeerSecurity security = PeerSecurity.mutualTls(NodeCredentials.load(certs.resolve("coordinator")));
    List<WorkerProcess> workers = new ArrayList<>();
    // Ctrl-C skips finally blocks: the hook stops the workers then (by their process handles).
    Thread stopWorkers = new Thread(() -> workers.forEach(WorkerProcess::kill), "demo-stop-workers");
    Runtime.getRuntime().addShutdownHook(stopWorkers);
    PipelineBackend backend = null;
    Gateway gateway = null;
    ObjectNode report = json.createObjectNode();
    try {
      workers.addAll(startWorkers(certs, work));
      List<SolverStagePlanner.Device> devices = new ArrayList<>();
      ArrayNode workersJson = report.putArray("workers");
      for (int i = 0; i < workers.size(); i++) {
        WorkerProcess w = workers.get(i);
        devices.add(new SolverStagePlanner.Device(new WorkerEndpoint(w.name(), w.address()), 1L << 30, slowdowns[i]));
        System.out.printf(Locale.ROOT, "  worker %s pid %d on %s: emulated device, %.0f ms per image (%.0fx slower than this host)%n",
            w.name(), w.pid(), w.address(), slowdowns[i] * hostMs, slowdowns[i]);
        workersJson.addObject().put("name", w.name()).put("pid", w.pid()).put("address", w.address())
            .put("slowdown", slowdowns[i]).put("msPerImage", slowdowns[i] * hostMs);
      }
      int k = devices.size();
      double[][] bw = new double[k][k];
      double[][] lat = new double[k][k];
      for (int a = 0; a < k; a++) {
        for (int b = 0; b < k; b++) {
          bw[a][b] = a == b ? 0 : LOOPBACK_BYTES_PER_SECOND;
          lat[a][b] = a == b ? 0 : LOOPBACK_LATENCY_SECONDS;
        }
      }
      SolverStagePlanner planner = new SolverStagePlanner(model.profile(), model.nodeSeconds(), devices, bw, lat,
          Solvers.byName(solver, 1), TensorCodec.parse("raw"));
      backend = PipelineBackend.start(model.served(), devices.stream().map(SolverStagePlanner.Device::worker).toList(),
          planner, security, PipelineBackend.Options.DEFAULT);
      gateway = Gateway.start(backend, 0, 0);
      String url = "http://127.0.0.1:" + gateway.httpPort() + "/v2/models/fashion/infer";
      System.out.println("serving: KServe v2 HTTP on port " + gateway.httpPort() + ", gRPC on port "
          + gateway.grpcPort() + ", metrics at http://127.0.0.1:" + gateway.httpPort() + "/metrics");
      PlannedPipeline plan = backend.plan();
      System.out.println("\nplan (" + solver + " solver; cost model on the profiled layer times x each device's slowdown,"
          + " loopback links at " + LOOPBACK_BYTES_PER_SECOND / 1e6 + " MB/s):");
      System.out.print(plan.describe());
      double bestSingle = 1e3 / (hostMs * Arrays.stream(slowdowns).min().orElseThrow());
      System.out.printf(Locale.ROOT, "  the fastest device alone: %.1f inferences/s predicted%n", bestSingle);
      report.put("model", "fashion-classifier.onnx").put("images", n).put("hostMsPerImage", hostMs)
          .put("solver", solver).put("concurrency", concurrency);
      report.set("plan", planJson(plan, bestSingle));

      int warmUp = Math.min(n, 4 * concurrency);
      System.out.printf(Locale.ROOT, "%nwarming up: %d requests (JIT compilation of the gateway and coordinator; not counted)%n", warmUp);
      send("warm-up", url, requests.subList(0, warmUp), expected, output, i -> { });
      System.out.printf(Locale.ROOT, "%n== phase 1: %d images through the HTTP API, %d in flight%n", n, concurrency);
      List<PipelineBackend.LinkStats> before = backend.linkStats();
      PipelineBackend live = backend;
      List<StatusReply> statusBefore = plan.stages().stream().map(s -> live.status(s.worker())).toList();
      long duplicatesBefore = backend.duplicateResults();
      Phase p1 = send("phase 1", url, requests, expected, output, i -> { });
      List<PipelineBackend.LinkStats> after = backend.linkStats();
      List<StatusReply> statusAfter = plan.stages().stream().map(s -> live.status(s.worker())).toList();
      p1.print(labels);
      System.out.printf(Locale.ROOT, "  throughput: predicted %.1f/s (cost model), measured %.1f/s (%.0f%%)%n",
          plan.predictedThroughput(), p1.throughput(), 100 * p1.throughput() / plan.predictedThroughput());
      System.out.println("  per stage on this host, before the emulated slowdown: the profiled compute the cost model"
          + " and the emulated device use, the worker's warm run at deploy (each stage is its own ONNX Runtime call),"
          + " the mean ONNX Runtime time per frame in this phase, and the mean wait in the stage's queue");
      ArrayNode stagesJson = json.createArrayNode();
      for (int i = 0; i < plan.stages().size(); i++) {
        StatusReply a = statusAfter.get(i);
        StatusReply z = statusBefore.get(i);
        long frames = a.getFramesIn() - z.getFramesIn();
        double measured = frames == 0 ? 0 : (a.getComputeSeconds() - z.getComputeSeconds()) * 1e3 / frames;
        double queue = frames == 0 ? 0 : (a.getQueueSeconds() - z.getQueueSeconds()) * 1e3 / frames;
        PlannedStage st = plan.stages().get(i);
        System.out.printf(Locale.ROOT, "    stage %d on %s: %.3f ms profiled (x%.0f = %.1f ms emulated), %.3f ms warm,"
            + " %.3f ms per frame; waited %.1f ms in its queue%n", i, st.worker().name(), st.referenceSeconds() * 1e3,
            a.getSlowdown(), st.referenceSeconds() * a.getSlowdown() * 1e3, a.getStageSeconds() * 1e3, measured, queue);
        stagesJson.addObject().put("stage", i).put("worker", st.worker().name()).put("layers", st.layers())
            .put("profiledMs", st.referenceSeconds() * 1e3).put("slowdown", a.getSlowdown())
            .put("warmRunMs", a.getStageSeconds() * 1e3).put("ortMsPerFrame", measured).put("queueMsPerFrame", queue);
      }
      System.out.println("  bytes per inference per link:");
      ArrayNode linksJson = json.createArrayNode();
      for (int i = 0; i < after.size(); i++) {
        long frames = after.get(i).frames() - before.get(i).frames();
        long bytes = after.get(i).bytes() - before.get(i).bytes();
        double perInference = frames == 0 ? 0.0 : (double) bytes / frames;
        System.out.printf(Locale.ROOT, "    %-12s -> %-12s %8.0f B%n", after.get(i).from(), after.get(i).to(),
            perInference);
        linksJson.addObject().put("from", after.get(i).from()).put("to", after.get(i).to())
            .put("bytesPerInference", perInference);
      }
      ObjectNode phase1 = p1.json(json, labels);
      phase1.put("predictedPerSecond", plan.predictedThroughput());
      phase1.put("duplicateResultsDropped", backend.duplicateResults() - duplicatesBefore);
      phase1.set("stages", stagesJson);
      phase1.set("links", linksJson);
      report.set("phase1", phase1);

      if (!noFailover && workers.size() < 2) {
        System.out.println("\nno failover phase: it needs at least 2 workers (--device-ms has one value)");
      } else if (!noFailover) {
        report.set("failover", failover(backend, plan, workers, url, requests, expected, output, labels, n));
      }
      double wall = (System.nanoTime() - start) / 1e9;
      report.put("wallSeconds", wall);
      Path file = writeReport(report);
      System.out.printf(Locale.ROOT, "%ndemo finished in %.1f s; results in %s%n", wall, file);
      return 0;
    } finally {
      if (gateway != null) {
        gateway.close();
      }
      if (backend != null) {
        backend.close();
      }
      workers.forEach(WorkerProcess::close);
      Runtime.getRuntime().removeShutdownHook(stopWorkers);
      try (var files = Files.list(work)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(work);
    }
  }

  /** Phase 2: the same images again, SIGKILL of a pipeline worker after a quarter are answered. */
  private ObjectNode failover(PipelineBackend backend, PlannedPipeline plan, List<WorkerProcess> workers, String url,
      List<TensorData> requests, List<TensorData> expected, TensorSpec output, long[] labels, int n)
      throws Exception {
    List<PlannedStage> stages = plan.stages();
    WorkerEndpoint victim = stages.get(stages.size() / 2).worker();
    WorkerProcess victimProcess = workers.stream().filter(w -> w.name().equals(victim.name())).findFirst()
        .orElseThrow();
    System.out.printf(Locale.ROOT, "%n== phase 2: the same %d images; worker %s (pid %d, stage %d) gets SIGKILL after %d"
        + " answers%n", n, victim.name(), victimProcess.pid(), stages.size() / 2, n / 4);
    AtomicLong killedAt = new AtomicLong();
    long duplicatesBefore = backend.duplicateResults();
    int recoveriesBefore = backend.recoveries().size();
    Phase p2 = send("phase 2", url, requests, expected, output, answered -> {
      if (answered == n / 4 && killedAt.compareAndSet(0, System.nanoTime())) {
        victimProcess.kill();
        System.out.printf(Locale.ROOT, "  SIGKILL %s (pid %d) after %d answers%n", victim.name(), victimProcess.pid(),
            answered);
      }
    });
    p2.print(labels);
    long duplicates = backend.duplicateResults() - duplicatesBefore;
    System.out.printf(Locale.ROOT, "  lost requests: %d of %d; each answered exactly once (late duplicate results the"
        + " coordinator dropped: %d)%n", p2.failed, n, duplicates);
    ObjectNode out = p2.json(json, labels);
    out.put("victim", victim.name()).put("victimPid", victimProcess.pid()).put("killedAfterAnswers", n / 4);
    out.put("lostRequests", p2.failed).put("duplicateResultsDropped", duplicates);
    ArrayNode recoveries = out.putArray("recoveries");
    List<PipelineBackend.Recovery> rs = backend.recoveries();
    for (PipelineBackend.Recovery r : rs.subList(recoveriesBefore, rs.size())) {
      double sinceKill = killedAt.get() == 0 ? Double.NaN : (r.detectedAtNanos() - killedAt.get()) / 1e9;
      System.out.printf(Locale.ROOT, "  detection: %s declared down %.3f s after the SIGKILL (%.3f s after its last"
          + " answered heartbeat)%n  recovery: re-planned on the survivors, redeployed and replayed %d requests in"
          + " %.3f s%n", r.worker(), sinceKill, r.detectionSeconds(), r.replayed(), r.recoverySeconds());
      recoveries.addObject().put("worker", r.worker()).put("detectedAfterKillSeconds", sinceKill)
          .put("sinceLastHeartbeatSeconds", r.detectionSeconds()).put("recoverySeconds", r.recoverySeconds())
          .put("replayed", r.replayed()).put("plan", r.plan());
    }
    PlannedPipeline now = backend.plan();
    if (now != null) {
      System.out.println("  new plan:");
      System.out.print(now.describe());
      out.set("newPlan", planJson(now, Double.NaN));
    }
    return out;
  }

  private ObjectNode planJson(PlannedPipeline plan, double fastestSingle) {
    ObjectNode p = json.createObjectNode();
    ArrayNode stages = p.putArray("stages");
    for (PlannedStage s : plan.stages()) {
      stages.addObject().put("worker", s.worker().name()).put("layers", s.layers())
          .put("codec", s.outputCodec().label()).put("profiledMs", s.referenceSeconds() * 1e3);
    }
    p.put("predictedPerSecond", plan.predictedThroughput());
    p.put("predictedLatencyMs", plan.prediction().latency() * 1e3);
    if (!Double.isNaN(fastestSingle)) {
      p.put("fastestSingleDevicePerSecond", fastestSingle);
    }
    return p;
  }

  private Path writeReport(ObjectNode report) throws IOException {
    Path dir = Files.createDirectories(out);
    Path file = dir.resolve("demo.json");
    Path tmp = dir.resolve("demo.json.tmp");
    Files.writeString(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  /** The whole model's answer to each request, run here: what every distributed answer must equal. */
  private static List<TensorData> singleMachineAnswers(byte[] onnx, List<TensorData> requests, String output) {
    return OrtStack.call("single-machine", () -> {
      try (OnnxSession whole = OnnxSession.open(onnx, OnnxSession.Options.DEFAULT)) {
        return requests.stream().map(r -> whole.run(Map.of(r.name(), r)).get(output)).toList();
      }
    });
  }

  private List<WorkerProcess> startWorkers(Path certs, Path work) throws Exception {
    List<CompletableFuture<WorkerProcess>> starting = new ArrayList<>();
    for (int i = 0; i < slowdowns.length; i++) {
      String name = "dev" + (i + 1);
      double k = slowdowns[i];
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return WorkerProcess.start(List.of(), name, "127.0.0.1:0", k, certs.resolve(name), work.resolve(name + ".log"));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }));
    }
    List<WorkerProcess> out = new ArrayList<>();
    try {
      for (CompletableFuture<WorkerProcess> f : starting) {
        out.add(f.join());
      }
    } catch (RuntimeException e) {
      out.forEach(WorkerProcess::close);
      throw e;
    }
    return out;
  }

  /** The answers of one pass over the images. */
  private static final class Phase {
    final int[] predicted;
    final double[] latencyMs;
    int failed;
    /** Answers that differ from the single-machine model's (beyond rounding). */
    int disagreeing;
    double maxAbsDifference;
    double seconds;
    String firstError;

    Phase(int n) {
      predicted = new int[n];
      Arrays.fill(predicted, -1);
      latencyMs = new double[n];
    }

    double throughput() {
      return (predicted.length - failed) / seconds;
    }

    double accuracy(long[] labels) {
      int correct = 0;
      for (int i = 0; i < predicted.length; i++) {
        if (predicted[i] == labels[i]) {
          correct++;
        }
      }
      return 100.0 * correct / predicted.length;
    }

    double[] sortedLatencies() {
      return Arrays.stream(latencyMs).filter(v -> v > 0).sorted().toArray();
    }

    void print(long[] labels) {
      double[] ok = sortedLatencies();
      System.out.printf(Locale.ROOT, "  answered %d/%d (%d failed%s), accuracy %.1f%%, %.1f inferences/s, latency p50 %.1f ms"
              + " p99 %.1f ms%n", predicted.length - failed, predicted.length, failed,
          firstError == null ? "" : ": " + firstError, accuracy(labels), throughput(),
          percentile(ok, 0.5), percentile(ok, 0.99));
      System.out.printf(Locale.ROOT, "  answers equal to the single-machine model's: %d/%d (largest |difference| %.2g)%n",
          predicted.length - failed - disagreeing, predicted.length, maxAbsDifference);
    }

    ObjectNode json(ObjectMapper json, long[] labels) {
      double[] ok = sortedLatencies();
      ObjectNode o = json.createObjectNode();
      o.put("requests", predicted.length).put("answered", predicted.length - failed).put("failed", failed)
          .put("firstError", firstError).put("accuracyPercent", accuracy(labels)).put("seconds", seconds)
          .put("measuredPerSecond", throughput()).put("p50Ms", percentile(ok, 0.5)).put("p99Ms", percentile(ok, 0.99))
          .put("disagreeingWithSingleMachine", disagreeing).put("maxAbsDifference", maxAbsDifference);
      return o;
    }

    private static double percentile(double[] sorted, double q) {
      if (sorted.length == 0) {
        return Double.NaN;
      }
      return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
    }
  }

  private Phase send(String label, String url, List<TensorData> requests, List<TensorData> expected, TensorSpec output,
      IntConsumer onAnswer) throws Exception {
    int n = requests.size();
    Phase phase = new Phase(n);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    AtomicInteger next = new AtomicInteger();
    AtomicInteger answered = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor();
    long t0 = System.nanoTime();
    progress.scheduleAtFixedRate(() -> System.out.printf(Locale.ROOT, "  [%s] %d/%d answered, %.1f s%n", label,
        answered.get(), n, (System.nanoTime() - t0) / 1e9), PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
    try {
      List<CompletableFuture<Void>> clients = new ArrayList<>();
      for (int c = 0; c < concurrency; c++) {
        clients.add(CompletableFuture.runAsync(() -> {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            long s = System.nanoTime();
            String error = null;
            try {
              HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                  .timeout(Duration.ofSeconds(60))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body(requests.get(i)))).build(),
                  HttpResponse.BodyHandlers.ofString());
              if (r.statusCode() == 200) {
                TensorData got = outputTensor(json.readTree(r.body()), output, expected.get(i).shape());
                phase.latencyMs[i] = (System.nanoTime() - s) / 1e6;
                phase.predicted[i] = argmax(got.floats());
                boolean agrees = ModelAgreement.agrees(got, expected.get(i));
                double diff = ModelAgreement.maxAbsDifference(got, expected.get(i));
                synchronized (phase) {
                  phase.maxAbsDifference = Math.max(phase.maxAbsDifference, diff);
                  if (!agrees) {
                    phase.disagreeing++;
                  }
                }
              } else {
                error = "HTTP " + r.statusCode() + " " + r.body();
              }
            } catch (IOException | InterruptedException | RuntimeException e) {
              error = e.toString();
            }
            if (error != null) {
              synchronized (phase) {
                phase.failed++;
                if (phase.firstError == null) {
                  phase.firstError = error;
                }
              }
            }
            onAnswer.accept(answered.incrementAndGet());
          }
        }, pool));
      }
      CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).join();
    } finally {
      progress.shutdownNow();
      pool.shutdownNow();
    }
    phase.seconds = (System.nanoTime() - t0) / 1e9;
    return phase;
  }

  /** The model's output from a KServe v2 JSON response, as a float tensor of the expected shape. */
  private static TensorData outputTensor(JsonNode response, TensorSpec output, long[] shape) {
    for (JsonNode o : response.get("outputs")) {
      if (o.get("name").asText().equals(output.name())) {
        JsonNode data = o.get("data");
        float[] v = new float[data.size()];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) data.get(i).asDouble();
        }
        return TensorData.ofFloats(output.name(), shape, v);
      }
    }
    throw new IllegalStateException("response has no output '" + output.name() + "'");
  }

  private static String body(TensorData t) {
    StringBuilder sb = new StringBuilder(t.data().length * 3);
    sb.append("{\"inputs\":[{\"name\":\"").append(t.name()).append("\",\"shape\":")
        .append(Arrays.toString(t.shape()).replace(" ", "")).append(",\"datatype\":\"FP32\",\"data\":[");
    float[] v = t.floats();
    for (int i = 0; i < v.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(v[i]);
    }
    return sb.append("]}]}").toString();
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /** One request per image, shaped like the model's input with batch 1. */
  private static List<TensorData> splitImages(TensorData images, TensorSpec input, int n) {
    long[] shape = input.shape().clone();
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        shape[i] = 1;
      }
    }
    int per = (int) TensorData.elementCount(shape);
    float[] all = images.floats();
    if (all.length < (long) per * n) {
      throw new IllegalArgumentException("bundled images: " + all.length + " values, " + n + " images of "
          + Arrays.toString(shape) + " need " + (long) per * n);
    }
    List<TensorData> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(TensorData.ofFloats(input.name(), shape, Arrays.copyOfRange(all, i * per, (i + 1) * per)));
    }
    return out;
  }

  private static long[] longs(TensorData t) {
    ByteBuffer b = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
    long[] out = new long[(int) t.elementCount()];
    for (int i = 0; i < out.length; i++) {
      out[i] = switch (t.dtype()) {
        case INT64 -> b.getLong();
        case INT32 -> b.getInt();
        case UINT8 -> b.get() & 0xff;
        case INT8 -> b.get();
        default -> throw new IllegalArgumentException("bundled labels are " + t.dtype() + ", expected integers");
      };
    }
    return out;
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IOException("bundled demo file " + RESOURCES + name + " is missing from the build");
      }
      return in.readAllBytes();
    }
  }
}
