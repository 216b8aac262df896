package dev.shoal.bench.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.KServeClient;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.io.Npy;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.Stage;
import dev.shoal.plan.solve.Solvers;
import dev.shoal.plan.strategy.PipelineProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.worker.OrtStack;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code shoal demo}: the whole system on one machine. Starts worker processes that emulate
 * slower devices, plans and deploys the bundled Fashion-MNIST classifier across them, sends the
 * bundled test images through the KServe v2 HTTP API, reports accuracy, throughput, latency, bytes
 * per link and the cost model's prediction; then SIGKILLs a worker mid-stream and shows that every
 * request is still answered.
 */
public final class Demo {
  static final String RESOURCES = "/dev/shoal/bench/demo/";
  static final double LOOPBACK_BYTES_PER_SECOND = 400e6;
  static final double LOOPBACK_LATENCY_SECONDS = 0.0002;
  /** Held here: java.util.logging keeps only weak references, and a collected logger loses its level. */
  private static final Logger RUNTIME_LOG = Logger.getLogger("dev.shoal.runtime");

  /**
   * @param deviceMs one worker per value: an emulated device that needs this many ms per image for
   *     the whole model (each worker is made ms / this host's ms times slower)
   * @param images images to send per phase; 0 for all bundled
   * @param concurrency HTTP requests in flight
   * @param solver the planner's name (exact, heuristic, greedy, random)
   * @param failover whether to run phase 2 (a worker killed mid-stream)
   * @param out where {@code demo.json} goes
   */
  public record Options(double[] deviceMs, int images, int concurrency, String solver, boolean failover, Path out) {
    public Options {
      if (deviceMs.length == 0 || Arrays.stream(deviceMs).anyMatch(ms -> !(ms > 0))) {
        throw new IllegalArgumentException("--device-ms: give one value > 0 per device, got " + Arrays.toString(deviceMs));
      }
      if (concurrency < 1 || images < 0) {
        throw new IllegalArgumentException("--concurrency must be >= 1 and --images >= 0, got " + concurrency + " and "
            + images);
      }
    }
  }

  private final Options options;
  private final PrintStream log;
  private final ObjectMapper json = new ObjectMapper();
  private double[] slowdowns;

  public Demo(Options options, PrintStream log) {
    this.options = options;
    this.log = log;
  }

  /**
   * Runs the demo; every worker it starts is stopped before it returns (and by a shutdown hook on
   * Ctrl-C).
   *
   * @return the report, also written to {@code demo.json} in the output directory
   */
  public ObjectNode run() throws Exception {
    long start = System.nanoTime();
    byte[] onnx = resource("fashion-classifier.onnx");
    TensorData imagesTensor = Npy.parse("images", resource("fashion-test-images.npy"), "bundled images");
    TensorData labelsTensor = Npy.parse("labels", resource("fashion-test-labels.npy"), "bundled labels");
    long[] labels = longs(labelsTensor);
    int n = options.images() > 0 ? Math.min(options.images(), labels.length) : labels.length;

    // The demo prints the plans itself; keep the coordinator's INFO log (each epoch's plan) out.
    RUNTIME_LOG.setLevel(Level.WARNING);
    log.println("== Shoal demo: Fashion-MNIST classifier on a pipeline of " + options.deviceMs().length
        + " emulated devices");
    PreparedModel model = PreparedModel.of(onnx, "fashion", "bundled fashion-classifier.onnx", 50);
    double hostMs = model.runSeconds() * 1e3;
    log.printf(Locale.ROOT, "model: %d nodes, %.2f M MACs, %.0f KB of weights, %.3f ms per image on this host%n",
        model.profile().nodes().size(), model.profile().totalMacs() / 1e6, model.profile().totalParamBytes() / 1e3,
        hostMs);
    slowdowns = Arrays.stream(options.deviceMs()).map(ms -> Math.max(1.0, ms / hostMs)).toArray();
    TensorSpec input = model.served().inputs().get(0);
    TensorSpec output = model.served().outputs().get(0);
    List<TensorData> requests = splitImages(imagesTensor, input, n);
    List<TensorData> expected = singleMachineAnswers(onnx, requests, output.name());
    log.printf(Locale.ROOT, "single-machine reference: the whole model answered the %d images in this process%n", n);

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
    PlanBackend backend = null;
    Gateway gateway = null;
    KServeClient client = null;
    ObjectNode report = json.createObjectNode();
    try {
      workers.addAll(startWorkers(certs, work));
      List<PipelineProducer.EmulatedDevice> devices = new ArrayList<>();
      List<WorkerEndpoint> endpoints = new ArrayList<>();
      ArrayNode workersJson = report.putArray("workers");
      for (int i = 0; i < workers.size(); i++) {
        WorkerProcess w = workers.get(i);
        devices.add(new PipelineProducer.EmulatedDevice(w.name(), 1L << 30, slowdowns[i]));
        endpoints.add(new WorkerEndpoint(w.name(), w.address()));
        log.printf(Locale.ROOT, "  worker %s pid %d on %s: emulated device, %.0f ms per image (%.0fx slower than this host)%n",
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
      PipelineProducer planner = PipelineProducer.forEmulated(model.served().name(), model.profile(),
          model.nodeSeconds(), devices, bw, lat, Solvers.byName(options.solver(), 1), "raw", false);
      backend = PlanBackend.start(endpoints, List.of(planner), security, PlanBackend.Options.DEFAULT);
      gateway = Gateway.start(backend, 0, 0);
      client = new KServeClient(gateway.httpPort(), model.served().name(), KServeClient.Encoding.JSON);
      LoadGenerator load = new LoadGenerator(client, options.concurrency(), log);
      log.println("serving: KServe v2 HTTP on port " + gateway.httpPort() + ", gRPC on port "
          + gateway.grpcPort() + ", metrics at http://127.0.0.1:" + gateway.httpPort() + "/metrics");
      Plan plan = backend.plan();
      log.println("\nplan (" + options.solver() + " solver; cost model on the profiled layer times x each device's slowdown,"
          + " loopback links at " + LOOPBACK_BYTES_PER_SECOND / 1e6 + " MB/s):");
      log.print(plan.describe());
      double bestSingle = 1e3 / (hostMs * Arrays.stream(slowdowns).min().orElseThrow());
      log.printf(Locale.ROOT, "  the fastest device alone: %.1f inferences/s predicted%n", bestSingle);
      report.put("model", "fashion-classifier.onnx").put("images", n).put("hostMsPerImage", hostMs)
          .put("solver", options.solver()).put("concurrency", options.concurrency());
      report.set("plan", planJson(plan, bestSingle));

      int warmUp = Math.min(n, 4 * options.concurrency());
      log.printf(Locale.ROOT, "%nwarming up: %d requests (JIT compilation of the gateway and coordinator; not counted)%n", warmUp);
      load.send("warm-up", requests.subList(0, warmUp), expected, output.name(), i -> { });
      log.printf(Locale.ROOT, "%n== phase 1: %d images through the HTTP API, %d in flight%n", n, options.concurrency());
      List<PlanBackend.LinkStats> before = backend.linkStats();
      PlanBackend live = backend;
      List<StatusReply> statusBefore = plan.stages().stream()
          .map(s -> live.status(live.workerOf(s.devices().get(0)))).toList();
      long duplicatesBefore = backend.duplicateResults();
      LoadGenerator.Pass p1 = load.send("phase 1", requests, expected, output.name(), i -> { });
      List<PlanBackend.LinkStats> after = backend.linkStats();
      List<StatusReply> statusAfter = plan.stages().stream()
          .map(s -> live.status(live.workerOf(s.devices().get(0)))).toList();
      p1.print(log, labels);
      log.printf(Locale.ROOT, "  throughput: predicted %.1f/s (cost model), measured %.1f/s (%.0f%%)%n",
          plan.predicted().throughput(), p1.throughput(), 100 * p1.throughput() / plan.predicted().throughput());
      log.println("  per stage on this host, before the emulated slowdown: the profiled compute the cost model"
          + " and the emulated device use, the worker's warm run at deploy (each stage is its own ONNX Runtime call),"
          + " the mean ONNX Runtime time per frame in this phase, and the mean wait in the stage's queue");
      ArrayNode stagesJson = json.createArrayNode();
      for (int i = 0; i < plan.stages().size(); i++) {
        StatusReply a = statusAfter.get(i);
        StatusReply z = statusBefore.get(i);
        long frames = a.getFramesIn() - z.getFramesIn();
        double measured = frames == 0 ? 0 : (a.getComputeSeconds() - z.getComputeSeconds()) * 1e3 / frames;
        double queue = frames == 0 ? 0 : (a.getQueueSeconds() - z.getQueueSeconds()) * 1e3 / frames;
        Stage st = plan.stages().get(i);
        log.printf(Locale.ROOT, "    stage %d on %s: %.3f ms profiled (x%.0f = %.1f ms emulated), %.3f ms warm,"
            + " %.3f ms per frame; waited %.1f ms in its queue%n", i, st.devices().get(0), st.referenceSeconds() * 1e3,
            a.getSlowdown(), st.referenceSeconds() * a.getSlowdown() * 1e3, a.getStageSeconds() * 1e3, measured, queue);
        stagesJson.addObject().put("stage", i).put("worker", st.devices().get(0)).put("layers", st.label())
            .put("profiledMs", st.referenceSeconds() * 1e3).put("slowdown", a.getSlowdown())
            .put("warmRunMs", a.getStageSeconds() * 1e3).put("ortMsPerFrame", measured).put("queueMsPerFrame", queue);
      }
      log.println("  bytes per inference per link:");
      ArrayNode linksJson = json.createArrayNode();
      for (int i = 0; i < after.size(); i++) {
        long frames = after.get(i).frames() - before.get(i).frames();
        long bytes = after.get(i).bytes() - before.get(i).bytes();
        double perInference = frames == 0 ? 0.0 : (double) bytes / frames;
        log.printf(Locale.ROOT, "    %-12s -> %-12s %8.0f B%n", after.get(i).from(), after.get(i).to(),
            perInference);
        linksJson.addObject().put("from", after.get(i).from()).put("to", after.get(i).to())
            .put("bytesPerInference", perInference);
      }
      ObjectNode phase1 = p1.json(json, labels);
      phase1.put("predictedPerSecond", plan.predicted().throughput());
      phase1.put("duplicateResultsDropped", backend.duplicateResults() - duplicatesBefore);
      phase1.set("stages", stagesJson);
      phase1.set("links", linksJson);
      report.set("phase1", phase1);

      if (options.failover() && workers.size() < 2) {
        log.println("\nno failover phase: it needs at least 2 workers (--device-ms has one value)");
      } else if (options.failover()) {
        report.set("failover", failover(backend, plan, workers, load, requests, expected, output, labels, n));
      }
      double wall = (System.nanoTime() - start) / 1e9;
      report.put("wallSeconds", wall);
      Path file = writeReport(report);
      log.printf(Locale.ROOT, "%ndemo finished in %.1f s; results in %s%n", wall, file);
      return report;
    } finally {
      if (client != null) {
        client.close();
      }
      if (gateway != null) {
        gateway.close();
      }
      if (backend != null) {
        backend.close();
      }
      workers.forEach(WorkerProcess::close);
      Runtime.getRuntime().removeShutdownHook(stopWorkers);
      try (var files = Files.walk(work).sorted(java.util.Comparator.reverseOrder()).filter(f -> !f.equals(work))) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(work);
    }
  }

  /** Phase 2: the same images again, SIGKILL of a pipeline worker after a quarter are answered. */
  private ObjectNode failover(PlanBackend backend, Plan plan, List<WorkerProcess> workers, LoadGenerator load,
      List<TensorData> requests, List<TensorData> expected, TensorSpec output, long[] labels, int n)
      throws Exception {
    List<Stage> stages = plan.stages();
    WorkerEndpoint victim = backend.workerOf(stages.get(stages.size() / 2).devices().get(0));
    WorkerProcess victimProcess = workers.stream().filter(w -> w.name().equals(victim.name())).findFirst()
        .orElseThrow();
    log.printf(Locale.ROOT, "%n== phase 2: the same %d images; worker %s (pid %d, stage %d) gets SIGKILL after %d"
        + " answers%n", n, victim.name(), victimProcess.pid(), stages.size() / 2, n / 4);
    AtomicLong killedAt = new AtomicLong();
    long duplicatesBefore = backend.duplicateResults();
    int recoveriesBefore = backend.recoveries().size();
    LoadGenerator.Pass p2 = load.send("phase 2", requests, expected, output.name(), answered -> {
      if (answered == n / 4 && killedAt.compareAndSet(0, System.nanoTime())) {
        victimProcess.kill();
        log.printf(Locale.ROOT, "  SIGKILL %s (pid %d) after %d answers%n", victim.name(), victimProcess.pid(),
            answered);
      }
    });
    p2.print(log, labels);
    long duplicates = backend.duplicateResults() - duplicatesBefore;
    log.printf(Locale.ROOT, "  lost requests: %d of %d; each answered exactly once (late duplicate results the"
        + " coordinator dropped: %d)%n", p2.failed(), n, duplicates);
    ObjectNode out = p2.json(json, labels);
    out.put("victim", victim.name()).put("victimPid", victimProcess.pid()).put("killedAfterAnswers", n / 4);
    out.put("lostRequests", p2.failed()).put("duplicateResultsDropped", duplicates);
    ArrayNode recoveries = out.putArray("recoveries");
    List<PlanBackend.Recovery> rs = backend.recoveries();
    for (PlanBackend.Recovery r : rs.subList(recoveriesBefore, rs.size())) {
      double sinceKill = killedAt.get() == 0 ? Double.NaN : (r.detectedAtNanos() - killedAt.get()) / 1e9;
      log.printf(Locale.ROOT, "  detection: %s declared down %.3f s after the SIGKILL (%.3f s after its last"
          + " answered heartbeat)%n  recovery: re-planned on the survivors, redeployed and replayed %d requests in"
          + " %.3f s%n", r.worker(), sinceKill, r.detectionSeconds(), r.replayed(), r.recoverySeconds());
      recoveries.addObject().put("worker", r.worker()).put("detectedAfterKillSeconds", sinceKill)
          .put("sinceLastHeartbeatSeconds", r.detectionSeconds()).put("recoverySeconds", r.recoverySeconds())
          .put("replayed", r.replayed()).put("plan", r.plan());
    }
    Plan now = backend.plan();
    if (now != null) {
      log.println("  new plan:");
      log.print(now.describe());
      out.set("newPlan", planJson(now, Double.NaN));
    }
    return out;
  }

  private ObjectNode planJson(Plan plan, double fastestSingle) {
    ObjectNode p = json.createObjectNode();
    ArrayNode stages = p.putArray("stages");
    for (Stage s : plan.stages()) {
      String codec = plan.edges().stream().filter(e -> e.from().node().equals(s.id())).map(e -> e.codec()).findFirst()
          .orElse("raw");
      stages.addObject().put("worker", s.devices().get(0)).put("layers", s.label()).put("codec", codec)
          .put("profiledMs", s.referenceSeconds() * 1e3);
    }
    p.put("predictedPerSecond", plan.predicted().throughput());
    p.put("predictedLatencyMs", plan.predicted().latencySeconds() * 1e3);
    if (!Double.isNaN(fastestSingle)) {
      p.put("fastestSingleDevicePerSecond", fastestSingle);
    }
    return p;
  }

  private Path writeReport(ObjectNode report) throws IOException {
    Path dir = Files.createDirectories(options.out());
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
    try (InputStream in = Demo.class.getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IOException("bundled demo file " + RESOURCES + name + " is missing from the build");
      }
      return in.readAllBytes();
    }
  }
}
