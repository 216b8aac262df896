package dev.shoal.bench.availability;

import dev.shoal.bench.KServeClient;
import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.bench.Percentiles;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.solve.ExactSolver;
import dev.shoal.runtime.coordinator.ClusterServing;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.plan.strategy.PipelineProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Issue 4's availability experiment on real worker processes (loopback, all of equal speed, each
 * optionally emulating a slower device): N workers; variant parallelism (one variant each), class
 * parallelism (one sub-model each) and pipeline model parallelism of the base model (planned over
 * the N workers, with and without re-planning on the survivors) answer the same test images
 * through the gateway's REST API with 0, 1 and 2 workers SIGKILLed.
 */
public final class AvailabilityBench {

  /**
   * @param models directory with base/base.onnx, variants/family.json, class-parallel/class-parallel.json
   * @param images test images per experiment (the first ones of the test set)
   * @param deadline how long the ensembles wait for their members
   * @param slowdown every worker emulates a device this many times slower than this host
   */
  public record Config(Path models, Path data, int images, Duration deadline, double slowdown) {}

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
  private final FashionServingSetup setup;

  private AvailabilityBench(Config config, PrintStream log) throws IOException {
    this.config = config;
    this.log = log;
    this.setup = new FashionServingSetup(config.models(), config.data(), config.images());
  }

  public static void run(Config config, Path out, PrintStream log) throws IOException {
    new AvailabilityBench(config, log).run(out);
  }

  private void run(Path out) throws IOException {
    int n = setup.family.variants().size();
    Path logs = Files.createDirectories(out.resolve("logs"));
    Path certs = setup.writeCertificates(logs, n);
    log.printf(Locale.ROOT, "availability: %d test images, %d workers, slowdown %.1f, deadline %d ms%n",
        setup.images.length, n, config.slowdown(), config.deadline().toMillis());
    try (WorkerPool pool = WorkerPool.start(n, certs, logs, config.slowdown())) {
      ResultTable availability = availability(pool, pool.endpoints());
      availability.print(log);
      availability.writeCsv(out.resolve("availability.csv"));
      availability.writeJson(out.resolve("availability.json"));
      log.println("availability: results in " + out);
    } finally {
      FashionServingSetup.deleteCertificates(certs);
    }
  }

  // ---- availability with 0, 1, 2 workers killed ----

  private ResultTable availability(WorkerPool pool, List<WorkerEndpoint> cluster) throws IOException {
    ResultTable t = new ResultTable("strategy", "killed", "killed_workers", "requests", "answered", "failed",
        "degraded", "degraded_fraction", "accuracy", "accuracy_of_answered", "p50_ms", "p99_ms", "first_error",
        "first_missing");
    Cluster spec = FashionServingSetup.clusterOf(cluster);
    ModelProfile baseProfile = ModelProfile.of(ModelGraph.load(setup.baseFile));
    List<Strategy> strategies = List.of(
        new Strategy("variant parallel", false,
            w -> ClusterServing.serve(List.of(ClusterServing.variants(setup.variantsDir, spec, config.deadline())), spec,
                setup.security, setup.options).backend()),
        new Strategy("class parallel", false,
            w -> ClusterServing.serve(List.of(ClusterServing.classParallel(setup.classParallelDir, spec,
                config.deadline())), spec, setup.security, setup.options).backend()),
        new Strategy("pipeline MP, re-plan", true, w -> {
          ClusterServing.Served s = ClusterServing.serve(List.of(ClusterServing.pipeline(setup.baseFile, spec,
              new ExactSolver(), "raw", false)), spec, setup.security, setup.options);
          log.print("  " + s.plan().replace("\n", "\n  ").stripTrailing() + "\n");
          return s.backend();
        }),
        new Strategy("pipeline MP, no re-plan", false, w -> PlanBackend.start(w,
            List.of(new PinnedPlanner(PipelineProducer.forCluster("base", baseProfile, spec, new ExactSolver(), "raw",
                false))), setup.security, setup.options)));
    for (Strategy s : strategies) {
      pool.restartDead();
      log.println(s.name() + ": deploying on " + FashionServingSetup.names(cluster));
      ServingBackend backend = s.deploy().on(cluster);
      try (Gateway gateway = Gateway.start(backend, 0, 0);
          KServeClient client = setup.client(gateway, backend.models().get(0).name())) {
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
              last.get(4), setup.images.length, last.get(6), (Double) last.get(8));
        }
      } finally {
        backend.close();
      }
    }
    t.meta("what", "the first " + setup.images.length + " Fashion-MNIST test images, one request at a time through the "
        + "gateway's REST API; workers " + FashionServingSetup.names(cluster) + " on loopback; SIGKILL in that order; accuracy counts a "
        + "failed request as wrong");
    t.meta("worker_slowdown", config.slowdown());
    t.meta("deadline_ms", config.deadline().toMillis());
    t.meta("settle_ms", SETTLE.toMillis());
    t.meta("load_average_at_end", LoadAverage.now().oneMinuteText());
    return t;
  }

  private Object[] cellRow(String strategy, List<String> killed, KServeClient client) {
    int answered = 0;
    int degraded = 0;
    int correct = 0;
    int correctAnswered = 0;
    String firstError = "";
    String firstMissing = "";
    double[] ms = new double[setup.images.length];
    int timed = 0;
    for (int i = 0; i < setup.images.length; i++) {
      KServeClient.Answer a = client.infer(setup.imageTensor(i));
      if (a.ok()) {
        answered++;
        ms[timed++] = a.millis();
        degraded += a.degraded() ? 1 : 0;
        if (a.degraded() && firstMissing.isEmpty()) {
          firstMissing = a.parameters().getOrDefault(PlanBackend.PARAM_MISSING, "");
        }
        if (a.predictedClass() == setup.labels[i]) {
          correct++;
          correctAnswered++;
        }
      } else if (firstError.isEmpty()) {
        firstError = a.error();
      }
    }
    Percentiles p = timed == 0 ? null : Percentiles.of(java.util.Arrays.copyOf(ms, timed));
    return new Object[] {strategy, killed.size(), String.join(" ", killed), setup.images.length, answered,
        setup.images.length - answered, degraded, degraded / (double) setup.images.length, correct / (double) setup.images.length,
        answered == 0 ? Double.NaN : correctAnswered / (double) answered, p == null ? Double.NaN : p.p50(),
        p == null ? Double.NaN : p.p99(), firstError, firstMissing};
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
}
