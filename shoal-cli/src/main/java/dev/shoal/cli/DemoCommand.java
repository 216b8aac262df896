package dev.shoal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.io.Npy;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.solve.Solvers;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.PlannedStage;
import dev.shoal.runtime.coordinator.SolverStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.runtime.security.ClusterSecret;
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

  @Option(names = "--device-ms", split = ",", defaultValue = "20,30,40,50",
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

  private final ObjectMapper json = new ObjectMapper();

  @Override
  public Integer call() throws Exception {
    long start = System.nanoTime();
    byte[] onnx = resource("fashion-classifier.onnx");
    TensorData imagesTensor = Npy.parse("images", resource("fashion-test-images.npy"), "bundled images");
    TensorData labelsTensor = Npy.parse("labels", resource("fashion-test-labels.npy"), "bundled labels");
    long[] labels = longs(labelsTensor);
    int n = images > 0 ? Math.min(images, labels.length) : labels.length;

    System.out.println("== Shoal demo: Fashion-MNIST classifier on a pipeline of " + deviceMs.length
        + " emulated devices");
    PreparedModel model = PreparedModel.of(onnx, "fashion", "bundled fashion-classifier.onnx", 50);
    double hostMs = Arrays.stream(model.nodeSeconds()).sum() * 1e3;
    System.out.printf(Locale.ROOT, "model: %d nodes, %.2f M MACs, %.0f KB of weights, %.3f ms per image on this host%n",
        model.profile().nodes().size(), model.profile().totalMacs() / 1e6, model.profile().totalParamBytes() / 1e3,
        hostMs);
    slowdowns = Arrays.stream(deviceMs).map(ms -> Math.max(1.0, ms / hostMs)).toArray();
    TensorSpec input = model.served().inputs().get(0);
    List<TensorData> requests = splitImages(imagesTensor, input, n);

    Path work = Files.createTempDirectory("shoal-demo-");
    Path secretFile = work.resolve("cluster.secret");
    ClusterSecret secret = ClusterSecret.generate();
    secret.write(secretFile);
    List<WorkerProcess> workers = new ArrayList<>();
    PipelineBackend backend = null;
    Gateway gateway = null;
    try {
      workers.addAll(startWorkers(secretFile, work));
      List<SolverStagePlanner.Device> devices = new ArrayList<>();
      for (int i = 0; i < workers.size(); i++) {
        WorkerProcess w = workers.get(i);
        devices.add(new SolverStagePlanner.Device(new WorkerEndpoint(w.name(), w.address()), 1L << 30, slowdowns[i]));
        System.out.printf(Locale.ROOT, "  worker %s pid %d on %s: emulated device, %.0f ms per image (%.0fx slower than this host)%n",
            w.name(), w.pid(), w.address(), slowdowns[i] * hostMs, slowdowns[i]);
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
          planner, secret, PipelineBackend.Options.DEFAULT);
      gateway = Gateway.start(backend, 0, 0);
      String url = "http://127.0.0.1:" + gateway.httpPort() + "/v2/models/fashion/infer";
      System.out.println("serving: KServe v2 HTTP on port " + gateway.httpPort() + ", gRPC on port "
          + gateway.grpcPort() + ", metrics at http://127.0.0.1:" + gateway.httpPort() + "/metrics");
      PlannedPipeline plan = backend.plan();
      System.out.println("\nplan (" + solver + " solver, cost model on measured layer times x slowdown):");
      System.out.print(plan.describe());
      double bestSingle = 1e3 / (hostMs * Arrays.stream(slowdowns).min().orElseThrow());
      System.out.printf(Locale.ROOT, "  the fastest single device alone: %.1f inferences/s predicted%n", bestSingle);

      int warmUp = Math.min(n, 4 * concurrency);
      System.out.printf(Locale.ROOT, "%nwarming up: %d requests (JIT compilation of the gateway and coordinator; not counted)%n", warmUp);
      send(url, requests.subList(0, warmUp), labels, i -> { });
      System.out.printf(Locale.ROOT, "%n== phase 1: %d images through the HTTP API, %d in flight%n", n, concurrency);
      List<PipelineBackend.LinkStats> before = backend.linkStats();
      PipelineBackend live = backend;
      List<StatusReply> statusBefore = plan.stages().stream().map(s -> live.status(s.worker())).toList();
      Phase p1 = send(url, requests, labels, i -> { });
      List<PipelineBackend.LinkStats> after = backend.linkStats();
      List<StatusReply> statusAfter = plan.stages().stream().map(s -> live.status(s.worker())).toList();
      p1.print();
      System.out.println("  per stage, compute on this host before the emulated slowdown: the cost model's figure, the worker's"
          + " warm run measured at deploy, and the mean over this phase's frames");
      List<WorkerEndpoint> endpoints = devices.stream().map(SolverStagePlanner.Device::worker).toList();
      List<PipelineCost.Term> terms = new PipelineCost(planner.instance(endpoints))
          .evaluate(plan.prediction().stages()).terms();
      for (int i = 0; i < plan.stages().size(); i++) {
        StatusReply a = statusAfter.get(i);
        StatusReply z = statusBefore.get(i);
        long frames = a.getFramesIn() - z.getFramesIn();
        double measured = frames == 0 ? 0 : (a.getComputeSeconds() - z.getComputeSeconds()) * 1e3 / frames;
        double queue = frames == 0 ? 0 : (a.getQueueSeconds() - z.getQueueSeconds()) * 1e3 / frames;
        PlannedStage st = plan.stages().get(i);
        int stage = i;
        int d = plan.prediction().stages().get(i).device();
        double predictedHost = terms.stream().filter(t -> t.kind() == PipelineCost.Term.Kind.COMPUTE
            && t.stage() == stage).findFirst().orElseThrow().seconds() * 1e3 / slowdowns[d];
        System.out.printf(Locale.ROOT, "    stage %d on %s: %.3f ms predicted, %.3f ms warm, %.3f ms per frame;"
            + " frames waited %.1f ms in its queue%n", i, st.worker().name(), predictedHost,
            a.getStageSeconds() * 1e3, measured, queue);
      }
      double bottleneck = 0;
      for (PipelineCost.Term t : terms) {
        double seconds = t.kind() == PipelineCost.Term.Kind.COMPUTE
            ? statusAfter.get(t.stage()).getStageSeconds() * slowdowns[plan.prediction().stages().get(t.stage()).device()]
            : t.seconds();
        bottleneck = Math.max(bottleneck, seconds);
      }
      System.out.printf(Locale.ROOT, "  throughput: cost model on layer times %.1f/s; cost model on the workers' warm stage times"
              + " %.1f/s; measured %.1f/s (%.0f%% of the first, %.0f%% of the second)%n",
          plan.predictedThroughput(), 1 / bottleneck, p1.throughput(),
          100 * p1.throughput() / plan.predictedThroughput(), 100 * p1.throughput() * bottleneck);
      System.out.println("  bytes per inference per link:");
      for (int i = 0; i < after.size(); i++) {
        long frames = after.get(i).frames() - before.get(i).frames();
        long bytes = after.get(i).bytes() - before.get(i).bytes();
        System.out.printf(Locale.ROOT, "    %-12s -> %-12s %8.0f B%n", after.get(i).from(), after.get(i).to(),
            frames == 0 ? 0.0 : (double) bytes / frames);
      }

      if (!noFailover) {
        List<PlannedStage> stages = plan.stages();
        WorkerEndpoint victim = stages.get(stages.size() / 2).worker();
        WorkerProcess victimProcess = workers.stream().filter(w -> w.name().equals(victim.name())).findFirst()
            .orElseThrow();
        System.out.printf(Locale.ROOT, "%n== phase 2: the same %d images; worker %s (pid %d) gets SIGKILL after %d answers%n",
            n, victim.name(), victimProcess.pid(), n / 4);
        AtomicInteger killedAt = new AtomicInteger(-1);
        Phase p2 = send(url, requests, labels, answered -> {
          if (answered == n / 4 && killedAt.compareAndSet(-1, answered)) {
            victimProcess.kill();
            System.out.printf(Locale.ROOT, "  killed %s after %d answers%n", victim.name(), answered);
          }
        });
        p2.print();
        int differ = 0;
        for (int i = 0; i < n; i++) {
          if (p1.predicted[i] != p2.predicted[i]) {
            differ++;
          }
        }
        System.out.printf(Locale.ROOT, "  lost requests: %d, answers differing from phase 1: %d%n", p2.failed(), differ);
        for (PipelineBackend.Recovery r : backend.recoveries()) {
          System.out.printf(Locale.ROOT,
              "  recovery: %s declared down %.3f s after its last heartbeat; re-planned, redeployed and replayed %d"
                  + " requests in %.3f s%n", r.worker(), r.detectionSeconds(), r.replayed(), r.recoverySeconds());
        }
        if (backend.plan() != null) {
          System.out.println("  new plan:");
          System.out.print(backend.plan().describe());
        }
      }
      System.out.printf(Locale.ROOT, "%ndemo finished in %.1f s%n", (System.nanoTime() - start) / 1e9);
      return 0;
    } finally {
      if (gateway != null) {
        gateway.close();
      }
      if (backend != null) {
        backend.close();
      }
      workers.forEach(WorkerProcess::close);
      try (var files = Files.list(work)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(work);
    }
  }

  private List<WorkerProcess> startWorkers(Path secretFile, Path work) throws Exception {
    List<CompletableFuture<WorkerProcess>> starting = new ArrayList<>();
    for (int i = 0; i < slowdowns.length; i++) {
      String name = "dev" + (i + 1);
      double k = slowdowns[i];
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return WorkerProcess.start(List.of(), name, "127.0.0.1:0", k, secretFile, work.resolve(name + ".log"));
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
    final long[] labels;
    int failed;
    double seconds;
    String firstError;

    Phase(int n, long[] labels) {
      predicted = new int[n];
      Arrays.fill(predicted, -1);
      latencyMs = new double[n];
      this.labels = labels;
    }

    int failed() {
      return failed;
    }

    double throughput() {
      return (predicted.length - failed) / seconds;
    }

    void print() {
      int correct = 0;
      for (int i = 0; i < predicted.length; i++) {
        if (predicted[i] == labels[i]) {
          correct++;
        }
      }
      double[] ok = Arrays.stream(latencyMs).filter(v -> v > 0).sorted().toArray();
      System.out.printf(Locale.ROOT, "  answered %d/%d (%d failed%s), accuracy %.1f%%, %.1f inferences/s, latency p50 %.1f ms"
              + " p99 %.1f ms%n", predicted.length - failed, predicted.length, failed,
          firstError == null ? "" : ": " + firstError, 100.0 * correct / predicted.length, throughput(),
          percentile(ok, 0.5), percentile(ok, 0.99));
    }

    private static double percentile(double[] sorted, double q) {
      if (sorted.length == 0) {
        return Double.NaN;
      }
      return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
    }
  }

  private Phase send(String url, List<TensorData> requests, long[] labels, IntConsumer onAnswer) throws Exception {
    int n = requests.size();
    Phase phase = new Phase(n, labels);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    AtomicInteger next = new AtomicInteger();
    AtomicInteger answered = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    long t0 = System.nanoTime();
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
                phase.predicted[i] = argmax(json.readTree(r.body()).get("outputs").get(0).get("data"));
                phase.latencyMs[i] = (System.nanoTime() - s) / 1e6;
              } else {
                error = "HTTP " + r.statusCode() + " " + r.body();
              }
            } catch (IOException | InterruptedException e) {
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
      pool.shutdownNow();
    }
    phase.seconds = (System.nanoTime() - t0) / 1e9;
    return phase;
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

  private static int argmax(JsonNode data) {
    int best = 0;
    for (int i = 1; i < data.size(); i++) {
      if (data.get(i).asDouble() > data.get(best).asDouble()) {
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
