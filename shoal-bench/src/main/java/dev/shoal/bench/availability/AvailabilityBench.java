package dev.shoal.bench.availability;

import dev.shoal.bench.ResultTable;
import dev.shoal.bench.pipeline.Percentiles;
import dev.shoal.bench.variants.Latencies;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.ModelInput;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.DeviceSpeed;
import dev.shoal.plan.solve.ExactSolver;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.gateway.serve.ClusterServing;
import dev.shoal.runtime.gateway.serve.ClusterStagePlanner;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.runtime.security.ClusterSecret;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Split;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 4's availability experiment on real worker processes (loopback, all of equal speed, each
 * optionally emulating a slower device): N workers; variant parallelism (one variant each), class parallelism (one
 * sub-model each) and pipeline model parallelism of the base model (planned over the N workers,
 * with and without re-planning on the survivors) answer the same test images through the gateway's
 * REST API with 0, 1 and 2 workers SIGKILLed; and the served batch-1 response time of the variant
 * ensemble against the base model served whole on one worker of its own, timed interleaved.
 */
public final class AvailabilityBench {

  /**
   * @param models directory with base/base.onnx, variants/family.json, class-parallel/class-parallel.json
   * @param images test images per experiment (the first ones of the test set)
   * @param deadline how long the ensembles wait for their members
   * @param warmup, rounds requests before and in the response-time measurement
   * @param slowdown every worker emulates a device this many times slower than this host
   */
  public record Config(Path models, Path data, int images, Duration deadline, int warmup, int rounds,
      double slowdown) {}

  /** A way to serve the classifier on the workers, as the table names it. */
  private record Strategy(String name, boolean replans, Deploy deploy) {}

  private interface Deploy {
    ServingBackend on(List<WorkerEndpoint> workers);
  }

  private static final int MAX_KILLED = 2;
  private static final Duration SETTLE = Duration.ofMillis(1500);
  private static final Duration REPLAN_WAIT = Duration.ofSeconds(60);

  private final Config config;
  private final PrintStream log;
  private final ClusterSecret secret = ClusterSecret.generate();
  private final PipelineBackend.Options options;
  private final VariantFamilyManifest family;
  private final Path variantsDir;
  private final Path classParallelDir;
  private final Path baseFile;
  private final float[][] images;
  private final int[] labels;

  private AvailabilityBench(Config config, PrintStream log) throws IOException {
    this.config = config;
    this.log = log;
    this.options = new PipelineBackend.Options(PipelineBackend.Options.DEFAULT.maxInFlight(), Duration.ofSeconds(20),
        TensorCodec.parse("raw"), PipelineBackend.Options.DEFAULT.maxFrameBytes());
    variantsDir = config.models().resolve("variants");
    classParallelDir = config.models().resolve("class-parallel");
    baseFile = config.models().resolve("base").resolve("base.onnx");
    family = VariantFamilyManifest.read(variantsDir.resolve(VariantFamilyManifest.FILE_NAME));
    ClassParallelManifest cp = ClassParallelManifest.read(classParallelDir.resolve(ClassParallelManifest.FILE_NAME));
    if (cp.members().size() != family.variants().size()) {
      throw new IllegalArgumentException("the family has " + family.variants().size() + " variants but class "
          + "parallelism " + cp.members().size() + " sub-models: the comparison needs as many of each");
    }
    if (!Files.isRegularFile(baseFile)) {
      throw new IllegalArgumentException("no base model at " + baseFile + " (shoal train base --out "
          + baseFile.getParent() + ")");
    }
    LabelledImages test = LabelledImages.load(config.data(), Split.TEST).head(config.images());
    ModelInput input = family.input();
    int pixels = test.rows() * test.cols();
    images = new float[test.count()][pixels];
    labels = new int[test.count()];
    for (int i = 0; i < test.count(); i++) {
      for (int p = 0; p < pixels; p++) {
        images[i][p] = input.normalise(test.pixels()[i * pixels + p] & 0xff);
      }
      labels[i] = test.label(i);
    }
  }

  public static void run(Config config, Path out, PrintStream log) throws IOException {
    new AvailabilityBench(config, log).run(out);
  }

  private void run(Path out) throws IOException {
    int n = family.variants().size();
    Path logs = out.resolve("logs");
    Files.createDirectories(logs);
    Path secretFile = logs.resolve("cluster.secret");
    secret.write(secretFile);
    log.printf(Locale.ROOT, "availability: %d test images, %d workers (+1 for the base alone), slowdown %.1f, "
        + "deadline %d ms%n", images.length, n, config.slowdown(), config.deadline().toMillis());
    try (WorkerPool pool = WorkerPool.start(n + 1, secretFile, logs, config.slowdown())) {
      List<WorkerEndpoint> cluster = pool.endpoints().subList(0, n);
      WorkerEndpoint alone = pool.endpoints().get(n);
      ResultTable latency = responseTimes(cluster, alone);
      ResultTable availability = availability(pool, cluster);
      latency.print(log);
      availability.print(log);
      latency.writeCsv(out.resolve("response-time.csv"));
      latency.writeJson(out.resolve("response-time.json"));
      availability.writeCsv(out.resolve("availability.csv"));
      availability.writeJson(out.resolve("availability.json"));
      log.println("availability: results in " + out);
    } finally {
      Files.deleteIfExists(secretFile);
    }
  }

  // ---- served batch-1 response time: variant ensemble on N workers vs the base alone on one ----

  private ResultTable responseTimes(List<WorkerEndpoint> cluster, WorkerEndpoint alone) {
    log.println("response time: base alone on " + alone.name() + " vs the variant ensemble on " + names(cluster));
    ServingBackend base = PipelineBackend.start(PreparedModel.servedModel("base", ModelGraph.load(baseFile)),
        List.of(alone), new FixedStagePlanner(List.of(read(baseFile)), options.inputCodec()), secret, options);
    ServingBackend vp = null;
    Gateway baseGateway = null;
    Gateway vpGateway = null;
    try {
      vp = ClusterServing.variants(variantsDir, clusterOf(cluster), config.deadline(), secret, options).backend();
      baseGateway = Gateway.start(base, 0, 0);
      vpGateway = Gateway.start(vp, 0, 0);
      GatewayClient baseClient = client(baseGateway, "base");
      GatewayClient vpClient = client(vpGateway, family.name());
      for (int i = 0; i < config.warmup(); i++) {
        baseClient.classify(images[i % images.length]);
        vpClient.classify(images[i % images.length]);
      }
      double[] baseMs = new double[config.rounds()];
      double[] vpMs = new double[config.rounds()];
      int failed = 0;
      for (int r = 0; r < config.rounds(); r++) {
        float[] image = images[r % images.length];
        GatewayClient.Answer b = baseClient.classify(image);
        GatewayClient.Answer v = vpClient.classify(image);
        failed += (b.ok() ? 0 : 1) + (v.ok() ? 0 : 1);
        baseMs[r] = b.millis();
        vpMs[r] = v.millis();
      }
      Percentiles bp = Percentiles.of(baseMs);
      Percentiles vpp = Percentiles.of(vpMs);
      // the models' own batch-1 ONNX Runtime time in this process: the ensemble's critical path is its slowest variant
      List<Path> files = new ArrayList<>(List.of(baseFile));
      family.variants().forEach(v -> files.add(variantsDir.resolve(v.file())));
      Map<Path, Double> ort = Latencies.medianMillis(files, imageTensor(images[0]), config.warmup(), config.rounds());
      double baseOrt = ort.get(baseFile);
      double vpOrt = files.subList(1, files.size()).stream().mapToDouble(ort::get).max().orElseThrow();
      ResultTable t = new ResultTable("served", "workers", "requests", "failed", "p50_ms", "p99_ms",
          "base_p50_over_this_p50", "target", "onnxruntime_ms", "base_ort_over_this_ort");
      t.row("base (whole model, one worker)", 1, config.rounds(), failed, bp.p50(), bp.p99(), 1.0, "", baseOrt, 1.0);
      t.row("variant ensemble (" + cluster.size() + " variants, fused)", cluster.size(), config.rounds(), failed,
          vpp.p50(), vpp.p99(), bp.p50() / vpp.p50(), ">= 2.5", vpOrt, baseOrt / vpOrt);
      t.meta("what", "batch-1 response time through the gateway's KServe v2 REST API (JSON), one request at a "
          + "time, base and ensemble interleaved; workers on loopback, 1 ONNX Runtime thread each. "
          + "onnxruntime_ms: median in-process batch-1 run of the model (ensemble: its slowest variant)");
      t.meta("worker_slowdown", config.slowdown());
      t.meta("warmup", config.warmup());
      t.meta("host_cpus", Runtime.getRuntime().availableProcessors());
      t.meta("load_average_at_end", loadAverage());
      return t;
    } finally {
      if (baseGateway != null) {
        baseGateway.close();
      }
      if (vpGateway != null) {
        vpGateway.close();
      }
      base.close();
      if (vp != null) {
        vp.close();
      }
    }
  }

  // ---- availability with 0, 1, 2 workers killed ----

  private ResultTable availability(WorkerPool pool, List<WorkerEndpoint> cluster) throws IOException {
    ResultTable t = new ResultTable("strategy", "killed", "killed_workers", "requests", "answered", "failed",
        "degraded", "degraded_fraction", "accuracy", "accuracy_of_answered", "p50_ms", "p99_ms", "first_error");
    Cluster spec = clusterOf(cluster);
    ModelProfile baseProfile = ModelProfile.of(ModelGraph.load(baseFile));
    List<Strategy> strategies = List.of(
        new Strategy("variant parallel", false,
            w -> ClusterServing.variants(variantsDir, spec, config.deadline(), secret, options).backend()),
        new Strategy("class parallel", false,
            w -> ClusterServing.classParallel(classParallelDir, spec, config.deadline(), secret, options).backend()),
        new Strategy("pipeline MP, re-plan", true, w -> {
          ClusterServing.Served s = ClusterServing.pipeline(baseFile, spec, new ExactSolver(), options.inputCodec(),
              secret, options);
          log.print("  " + s.plan().replace("\n", "\n  ").stripTrailing() + "\n");
          return s.backend();
        }),
        new Strategy("pipeline MP, no re-plan", false, w -> PipelineBackend.start(
            PreparedModel.servedModel("base", ModelGraph.load(baseFile)), w,
            new PinnedPlanner(new ClusterStagePlanner(baseProfile, spec, w, new ExactSolver(), options.inputCodec())),
            secret, options)));
    for (Strategy s : strategies) {
      pool.restartDead();
      log.println(s.name() + ": deploying on " + names(cluster));
      ServingBackend backend = s.deploy().on(cluster);
      try (Gateway gateway = Gateway.start(backend, 0, 0)) {
        GatewayClient client = client(gateway, backend.models().get(0).name());
        List<String> killed = new ArrayList<>();
        for (int k = 0; k <= MAX_KILLED; k++) {
          if (k > 0) {
            pool.kill(k - 1);
            killed.add(cluster.get(k - 1).name());
            settle(backend, s.replans());
          }
          t.row(cellRow(s.name(), killed, client));
          List<Object> last = t.rows().get(t.rows().size() - 1);
          log.printf(Locale.ROOT, "  %d killed %s: answered %s/%d, degraded %s, accuracy %.4f%n", k, killed,
              last.get(4), images.length, last.get(6), (Double) last.get(8));
        }
      } finally {
        backend.close();
      }
    }
    t.meta("what", "the first " + images.length + " Fashion-MNIST test images, one request at a time through the "
        + "gateway's REST API; workers " + names(cluster) + " on loopback; SIGKILL in that order; accuracy counts a "
        + "failed request as wrong");
    t.meta("worker_slowdown", config.slowdown());
    t.meta("deadline_ms", config.deadline().toMillis());
    t.meta("settle_ms", SETTLE.toMillis());
    t.meta("load_average_at_end", loadAverage());
    return t;
  }

  private Object[] cellRow(String strategy, List<String> killed, GatewayClient client) {
    int answered = 0;
    int degraded = 0;
    int correct = 0;
    int correctAnswered = 0;
    String firstError = "";
    double[] ms = new double[images.length];
    int timed = 0;
    for (int i = 0; i < images.length; i++) {
      GatewayClient.Answer a = client.classify(images[i]);
      if (a.ok()) {
        answered++;
        ms[timed++] = a.millis();
        degraded += a.degraded() ? 1 : 0;
        if (a.predicted() == labels[i]) {
          correct++;
          correctAnswered++;
        }
      } else if (firstError.isEmpty()) {
        firstError = a.error();
      }
    }
    Percentiles p = timed == 0 ? null : Percentiles.of(java.util.Arrays.copyOf(ms, timed));
    return new Object[] {strategy, killed.size(), String.join(" ", killed), images.length, answered,
        images.length - answered, degraded, degraded / (double) images.length, correct / (double) images.length,
        answered == 0 ? Double.NaN : correctAnswered / (double) answered, p == null ? Double.NaN : p.p50(),
        p == null ? Double.NaN : p.p99(), firstError};
  }

  /** Past the failure detector's worst case; a re-planning pipeline also gets time to redeploy. */
  private static void settle(ServingBackend backend, boolean replans) {
    try {
      Thread.sleep(SETTLE.toMillis());
      long end = System.nanoTime() + REPLAN_WAIT.toNanos();
      while (replans && !backend.ready() && System.nanoTime() < end) {
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private TensorData imageTensor(float[] image) {
    return TensorData.ofFloats(family.input().name(), batchOfOne(), image);
  }

  private long[] batchOfOne() {
    long[] shape = new long[family.input().shape().size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = Math.max(1, family.input().shape().get(i));
    }
    return shape;
  }

  /** The host's 1-minute load average (the machine is shared), or "" where unknown. */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "";
    }
  }

  private GatewayClient client(Gateway gateway, String model) {
    return new GatewayClient(gateway.httpPort(), model, family.input().name(), batchOfOne());
  }

  /** The workers as a cluster of equal devices joined by 1 Gbit/s, 0.1 ms links (loopback). */
  private static Cluster clusterOf(List<WorkerEndpoint> workers) {
    List<ClusterDevice> devices = new ArrayList<>();
    int n = workers.size();
    double[][] bandwidth = new double[n][n];
    double[][] latency = new double[n][n];
    for (int a = 0; a < n; a++) {
      WorkerEndpoint w = workers.get(a);
      devices.add(new ClusterDevice(w.name(), w.address(), 512L << 20, new DeviceSpeed.Relative(1.0)));
      for (int b = 0; b < n; b++) {
        bandwidth[a][b] = a == b ? 0 : 125e6;
        latency[a][b] = a == b ? 0 : 1e-4;
      }
    }
    return new Cluster(devices, bandwidth, latency, null, Cluster.DEFAULT_MACS_PER_SECOND);
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static String names(List<WorkerEndpoint> workers) {
    return workers.stream().map(WorkerEndpoint::name).toList().toString();
  }
}
