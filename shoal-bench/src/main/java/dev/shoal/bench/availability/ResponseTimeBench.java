package dev.shoal.bench.availability;

import dev.shoal.bench.KServeClient;
import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.bench.Percentiles;
import dev.shoal.bench.variants.Latencies;
import dev.shoal.model.TensorData;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.ClusterServing;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.pipeline.PreparedModel;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * Issue 4's served response time: the variant ensemble (one variant per worker process, fused at
 * the gateway) against the base model served whole on a worker of its own, batch 1, one request at
 * a time, timed interleaved. Swept over the workers' emulated device speed (each worker holds a
 * frame {@code slowdown} x its model's warm run on this host), because what the ensemble saves is
 * compute, and how much of the response time is compute depends on the device; measured twice per
 * request path: through the gateway's KServe REST API, and straight into the serving backend
 * (the runtime alone, no HTTP or JSON).
 */
public final class ResponseTimeBench {

  /**
   * @param slowdowns the emulated device speeds to sweep (1 = this host)
   * @param deadline how long the ensemble waits for its variants
   */
  public record Config(Path models, Path data, List<Double> slowdowns, Duration deadline, int warmup, int rounds) {}

  /** One path's timings at one slowdown. */
  private record Timings(Percentiles base, Percentiles ensemble, int failed, int degraded) {}

  private static final double TARGET = 2.5;

  private final Config config;
  private final PrintStream log;
  private final FashionServingSetup setup;

  private ResponseTimeBench(Config config, PrintStream log) throws IOException {
    this.config = config;
    this.log = log;
    this.setup = new FashionServingSetup(config.models(), config.data(), Math.max(1, config.rounds()));
  }

  public static void run(Config config, Path out, PrintStream log) throws IOException {
    new ResponseTimeBench(config, log).run(out);
  }

  private void run(Path out) throws IOException {
    int n = setup.family.variants().size();
    Path logs = Files.createDirectories(out.resolve("logs"));
    Path certs = setup.writeCertificates(logs, n + 1);
    // the models' own batch-1 ONNX Runtime time on this host: what a worker's emulated device multiplies
    List<Path> files = new ArrayList<>(List.of(setup.baseFile));
    setup.family.variants().forEach(v -> files.add(setup.variantsDir.resolve(v.file())));
    Map<Path, Double> ort = Latencies.medianMillis(files, setup.imageTensor(0), config.warmup(), config.rounds());
    double baseOrt = ort.get(setup.baseFile);
    double slowestOrt = files.subList(1, files.size()).stream().mapToDouble(ort::get).max().orElseThrow();
    log.printf(Locale.ROOT, "response time: ONNX Runtime batch-1 on this host: base %.3f ms, slowest of %d variants "
        + "%.3f ms (%.2fx)%n", baseOrt, n, slowestOrt, baseOrt / slowestOrt);
    ResultTable t = new ResultTable("slowdown", "path", "requests", "failed", "degraded", "base_p50_ms", "base_p99_ms",
        "ensemble_p50_ms", "ensemble_p99_ms", "speedup_p50", "target", "base_compute_ms", "ensemble_compute_ms",
        "compute_speedup", "base_overhead_ms", "ensemble_overhead_ms");
    try {
      for (double slowdown : config.slowdowns()) {
        try (WorkerPool pool = WorkerPool.start(n + 1, certs, logs, slowdown)) {
          log.printf(Locale.ROOT, "  slowdown %4.1f: %d warm-up rounds, then %d timed%n", slowdown, config.warmup(),
              config.rounds());
          Map<String, Timings> paths = measure(pool.endpoints().subList(0, n), pool.endpoints().get(n));
          double baseCompute = slowdown * baseOrt;
          double ensembleCompute = slowdown * slowestOrt;
          for (var e : paths.entrySet()) {
            Timings m = e.getValue();
            double speedup = m.base().p50() / m.ensemble().p50();
            t.row(slowdown, e.getKey(), config.rounds(), m.failed(), m.degraded(), m.base().p50(), m.base().p99(),
                m.ensemble().p50(), m.ensemble().p99(), speedup, ">= " + TARGET, baseCompute, ensembleCompute,
                baseCompute / ensembleCompute, m.base().p50() - baseCompute, m.ensemble().p50() - ensembleCompute);
            log.printf(Locale.ROOT, "  slowdown %4.1f, %-10s base p50 %7.2f ms, ensemble p50 %7.2f ms: %.2fx%n",
                slowdown, e.getKey(), m.base().p50(), m.ensemble().p50(), speedup);
          }
        }
      }
    } finally {
      FashionServingSetup.deleteCertificates(certs);
    }
    t.meta("what", "batch-1 response time, one request at a time, base and ensemble interleaved: 'REST' through "
        + "the gateway's KServe v2 REST API (JSON), 'runtime' straight into the serving backend (no HTTP); the base "
        + "whole on one worker, the " + n + " variants one per worker, all on loopback, 1 ONNX Runtime thread each. "
        + "compute: the slowdown x the model's median batch-1 ONNX Runtime run on this host (ensemble: its slowest "
        + "variant); overhead: p50 - compute");
    t.meta("base_onnxruntime_ms", baseOrt);
    t.meta("slowest_variant_onnxruntime_ms", slowestOrt);
    t.meta("deadline_ms", config.deadline().toMillis());
    t.meta("warmup", config.warmup());
    t.meta("host_cpus", Runtime.getRuntime().availableProcessors());
    t.meta("load_average_at_end", LoadAverage.now().oneMinuteText());
    t.print(log);
    t.writeCsv(out.resolve("response-time.csv"));
    t.writeJson(out.resolve("response-time.json"));
    chart(t, out.resolve("response-time.svg"));
    log.println("response time: results in " + out);
  }

  /** Base alone on {@code alone}, the ensemble on {@code cluster}; timings per request path. */
  private Map<String, Timings> measure(List<WorkerEndpoint> cluster, WorkerEndpoint alone) {
    ServedModel baseModel = PreparedModel.servedModel("base", ModelGraph.load(setup.baseFile));
    ServingBackend base = PlanBackend.start(List.of(alone), List.of(FixedPlacement.chain(baseModel.name(),
        List.of(FashionServingSetup.read(setup.baseFile)), List.of(alone.name()), "raw", new double[1])), setup.security,
        setup.options);
    ServingBackend vp = null;
    try {
      var spec = FashionServingSetup.clusterOf(cluster);
      vp = ClusterServing.serve(List.of(ClusterServing.variants(setup.variantsDir, spec, config.deadline())), spec,
          setup.security, setup.options).backend();
      try (Gateway baseGateway = Gateway.start(base, 0, 0); Gateway vpGateway = Gateway.start(vp, 0, 0);
          KServeClient baseClient = setup.client(baseGateway, baseModel.name());
          KServeClient vpClient = setup.client(vpGateway, setup.family.name())) {
        String baseInput = baseModel.inputs().get(0).name();
        String vpModel = vp.models().get(0).name();
        int rounds = config.rounds();
        double[][] ms = new double[4][rounds];
        int failed = 0;
        int degraded = 0;
        for (int r = -config.warmup(); r < rounds; r++) {
          int image = Math.floorMod(r, setup.images.length);
          KServeClient.Answer b = baseClient.infer(setup.imageTensor(image));
          KServeClient.Answer v = vpClient.infer(setup.imageTensor(image));
          TensorData x = setup.imageTensor(image);
          double directBase = timed(base, baseModel.name(), Map.of(baseInput, x.withName(baseInput)));
          double directVp = timed(vp, vpModel, Map.of(x.name(), x));
          if (r >= 0) {
            failed += (b.ok() ? 0 : 1) + (v.ok() ? 0 : 1) + (Double.isNaN(directBase) ? 1 : 0)
                + (Double.isNaN(directVp) ? 1 : 0);
            degraded += v.degraded() ? 1 : 0;
            ms[0][r] = b.millis();
            ms[1][r] = v.millis();
            ms[2][r] = directBase;
            ms[3][r] = directVp;
          }
        }
        Map<String, Timings> paths = new LinkedHashMap<>();
        paths.put("REST", new Timings(Percentiles.of(ms[0]), Percentiles.of(ms[1]), failed, degraded));
        paths.put("runtime", new Timings(Percentiles.of(ms[2]), Percentiles.of(ms[3]), failed, degraded));
        return paths;
      }
    } finally {
      base.close();
      if (vp != null) {
        vp.close();
      }
    }
  }

  /** Milliseconds of one in-process request, NaN when it failed. */
  private static double timed(ServingBackend backend, String model, Map<String, TensorData> inputs) {
    long start = System.nanoTime();
    try {
      backend.run(model, inputs, Duration.ofSeconds(60)).get();
      return (System.nanoTime() - start) / 1e6;
    } catch (ExecutionException e) {
      return Double.NaN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Double.NaN;
    }
  }

  private static void chart(ResultTable t, Path file) {
    LineChart chart = new LineChart("Served response time: base p50 / variant ensemble p50", "device slowdown (x this host)",
        "speed-up", null);
    for (String path : List.of("REST", "runtime")) {
      List<List<Object>> rows = t.rows().stream().filter(r -> r.get(1).equals(path)).toList();
      double[] x = rows.stream().mapToDouble(r -> (Double) r.get(0)).toArray();
      chart.add(path, x, rows.stream().mapToDouble(r -> (Double) r.get(9)).toArray(), LineChart.Axis.LEFT);
      if (path.equals("runtime")) {
        chart.add("compute only", x, rows.stream().mapToDouble(r -> (Double) r.get(13)).toArray(), LineChart.Axis.LEFT);
        chart.add("target", x, rows.stream().mapToDouble(r -> TARGET).toArray(), LineChart.Axis.LEFT);
      }
    }
    chart.writeSvg(file, 900, 500);
  }
}
