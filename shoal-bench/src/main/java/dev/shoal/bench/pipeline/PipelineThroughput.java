package dev.shoal.bench.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.bench.BenchCerts;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.Stage;
import dev.shoal.plan.strategy.PipelineProducer;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measured pipeline throughput against the cost model's prediction for the same plan: for 1..n
 * workers (each emulating a device {@code slowdown[i]} times slower than this host), the solver
 * plans over the cluster, the stages are deployed on worker processes, and a coordinator process
 * keeps a window of requests in flight.
 */
public final class PipelineThroughput {

  /** A network to measure on: loopback, or namespaces whose workers' egress is shaped. */
  record Network(String name, int rateMbit) {
    boolean namespaces() {
      return rateMbit > 0;
    }

    /** Bytes/s the cost model assumes (loopback: the transport's measured order of magnitude). */
    double bandwidth() {
      return rateMbit > 0 ? rateMbit * 1e6 / 8 : LOOPBACK_BYTES_PER_SECOND;
    }
  }

  static final double LOOPBACK_BYTES_PER_SECOND = 400e6;
  static final double LINK_LATENCY_SECONDS = 0.0002;

  /**
   * @param predicted the cost model's throughput for the plan (layer times x slowdown)
   * @param hostOrtMsPerInference the ONNX Runtime time per inference on this host during the run,
   *     summed over the stages (before the emulated slowdown): times the throughput, the share of a
   *     core the stages' compute took; far above the profiled time when the host is saturated
   */
  record Row(String network, int workers, int stages, String plan, double predicted, double hostOrtMsPerInference,
      double measured,
      double p50Ms, double p99Ms, int errors, String bottleneck, String bytesPerLink) {
    double ratio() {
      return measured / predicted;
    }
  }

  private PipelineThroughput() {}

  static List<Row> run(Network net, Path modelFile, ModelProfile profile, double[] nodeSeconds, double[] slowdowns,
      PipelineSolver solver, int requests, int window, Path certs, Path workDir, PrintStream log)
      throws Exception {
    List<Row> rows = new ArrayList<>();
    NetNamespaces ns = net.namespaces() ? new NetNamespaces(slowdowns.length, net.rateMbit()) : null;
    try {
      for (int k = 1; k <= slowdowns.length; k++) {
        rows.add(runOne(net, ns, k, modelFile, profile, nodeSeconds, slowdowns, solver, requests, window,
            certs, workDir, log));
      }
    } finally {
      if (ns != null) {
        ns.close();
      }
    }
    return rows;
  }

  private static Row runOne(Network net, NetNamespaces ns, int k, Path modelFile, ModelProfile profile,
      double[] nodeSeconds, double[] slowdowns, PipelineSolver solver, int requests, int window, Path certs,
      Path workDir, PrintStream log) throws Exception {
    List<WorkerProcess> processes = new ArrayList<>();
    try {
      // Started side by side (a JVM takes seconds to start here); every one that started is
      // stopped in finally, also when another failed to.
      ExecutorService starter = Executors.newFixedThreadPool(k);
      List<Future<WorkerProcess>> starting = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        String name = "w" + i;
        List<String> prefix = ns == null ? List.of() : ns.exec(i + 1);
        String listen = ns == null ? "127.0.0.1:0" : ns.address(i + 1) + ":7070";
        double slowdown = slowdowns[i];
        starting.add(starter.submit(() -> WorkerProcess.start(prefix, name, listen, slowdown,
            certs == null ? null : certs.resolve(name),
            workDir.resolve(net.name() + "-" + k + "-" + name + ".log"))));
      }
      starter.shutdown();
      ExecutionException failed = null;
      for (Future<WorkerProcess> f : starting) {
        try {
          processes.add(f.get());
        } catch (ExecutionException e) {
          failed = failed == null ? e : failed;
        }
      }
      if (failed != null) {
        throw new IOException("a worker did not start: " + failed.getCause().getMessage(), failed.getCause());
      }
      List<PipelineProducer.EmulatedDevice> devices = new ArrayList<>();
      List<WorkerEndpoint> endpoints = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        WorkerProcess p = processes.get(i);
        devices.add(new PipelineProducer.EmulatedDevice(p.name(), 1L << 32, slowdowns[i]));
        endpoints.add(new WorkerEndpoint(p.name(), p.address()));
      }
      double[][] bw = new double[k][k];
      double[][] lat = new double[k][k];
      for (int a = 0; a < k; a++) {
        for (int b = 0; b < k; b++) {
          bw[a][b] = a == b ? 0 : net.bandwidth();
          lat[a][b] = a == b ? 0 : LINK_LATENCY_SECONDS;
        }
      }
      PipelineProducer planner = PipelineProducer.forEmulated("model", profile, nodeSeconds, devices, bw, lat, solver,
          "raw", false);
      List<String> names = devices.stream().map(PipelineProducer.EmulatedDevice::name).toList();
      Instance instance = planner.instance(names);
      PipelinePlan solved = solver.solve(instance);
      PlanBundle bundle = planner.cut(names, solved);
      Plan plan = bundle.plan();
      PipelineCost.Evaluation eval = new PipelineCost(instance).evaluate(solved.stages());
      Path stageDir = Files.createDirectories(workDir.resolve(net.name() + "-" + k + "-stages"));
      List<String> args = new ArrayList<>(List.of(modelFile.toString(), stageDir.toString(),
          certs == null ? ThroughputProbe.PLAINTEXT : certs.resolve(BenchCerts.COORDINATOR).toString(),
          Integer.toString(requests), Integer.toString(window), "raw"));
      StringBuilder desc = new StringBuilder();
      StringBuilder reference = new StringBuilder("--reference=");
      for (int i = 0; i < plan.stages().size(); i++) {
        Stage s = plan.stages().get(i);
        WorkerEndpoint w = endpoints.stream().filter(e -> e.name().equals(s.devices().get(0))).findFirst().orElseThrow();
        Files.write(stageDir.resolve("stage-" + i + ".onnx"), bundle.model(s));
        args.add(w.name() + "=" + w.address());
        desc.append(i == 0 ? "" : " | ").append(w.name()).append(": ").append(s.label());
        reference.append(i == 0 ? "" : ",").append(s.referenceSeconds());
      }
      args.add(reference.toString());
      log.printf("  %s, %d worker(s): %s; predicted %.1f/s%n", net.name(), k, desc, plan.predicted().throughput());
      JsonNode r = probe(ns == null ? List.of() : ns.exec(0), args, workDir.resolve(net.name() + "-" + k + "-probe.log"));
      StringBuilder bytes = new StringBuilder();
      for (JsonNode l : r.get("links")) {
        bytes.append(bytes.length() == 0 ? "" : "; ").append(l.get("from").asText()).append("->")
            .append(l.get("to").asText()).append(' ').append(Math.round(l.get("bytesPerInference").asDouble()));
      }
      StringBuilder measuredStages = new StringBuilder();
      double ortMs = 0;
      for (int i = 0; i < plan.stages().size(); i++) {
        JsonNode st = r.get("stages").get(i);
        if (st.has("unreachable")) {
          continue;
        }
        ortMs += st.get("computeMs").asDouble();
        measuredStages.append(measuredStages.length() == 0 ? "" : "; ").append(st.get("worker").asText())
            .append(String.format(" warm %.2f ms, per frame %.2f ms, queue %.1f ms, device idle %.1f ms, overrun %.1f ms",
                st.get("warmMs").asDouble(), st.get("computeMs").asDouble(), st.get("queueMs").asDouble(),
                st.get("deviceIdleMs").asDouble(), st.get("deviceOverrunMs").asDouble()));
      }
      StringBuilder predictedStages = new StringBuilder();
      for (PipelineCost.Term t : eval.terms()) {
        predictedStages.append(predictedStages.length() == 0 ? "" : "; ")
            .append(String.format("%s %d %.2f ms", t.kind(), t.stage(), t.seconds() * 1e3));
      }
      log.printf("    cost model: %s%n    measured on this host, before the slowdown (idle: the device waited for a frame;"
          + " overrun: this host finished a frame's work after its emulated end), per frame: %s%n", predictedStages,
          measuredStages);
      Row row = new Row(net.name(), k, plan.stages().size(), desc.toString(), plan.predicted().throughput(),
          ortMs, r.get("throughput").asDouble(), r.get("p50Ms").asDouble(), r.get("p99Ms").asDouble(),
          r.get("errors").asInt(), eval.bottleneckTerm().kind() + " of stage " + eval.bottleneckTerm().stage(),
          bytes.toString());
      log.printf("    measured %.1f/s (%.0f%% of predicted), p50 %.1f ms, p99 %.1f ms; ONNX Runtime on this host %.2f ms"
          + " per inference (%.2f cores at this rate)%n", row.measured(), 100 * row.ratio(), row.p50Ms(), row.p99Ms(),
          row.hostOrtMsPerInference(), row.hostOrtMsPerInference() * row.measured() / 1e3);
      return row;
    } finally {
      processes.forEach(WorkerProcess::close);
    }
  }

  static JsonNode probe(List<String> prefix, List<String> args, Path log) throws IOException, InterruptedException {
    return probe(prefix, ThroughputProbe.class.getName(), args, log);
  }

  /** Runs a probe main of this class path (in a namespace with {@code prefix}) and reads its RESULT line. */
  public static JsonNode probe(List<String> prefix, String mainClass, List<String> args, Path log)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss16m", "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String result = null;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        out.write(line);
        out.newLine();
        if (line.startsWith("RESULT ")) {
          result = line.substring(7);
        }
      }
    }
    int rc = p.waitFor();
    if (result == null) {
      throw new IOException("throughput probe failed (exit " + rc + "), see " + log);
    }
    return new ObjectMapper().readTree(result);
  }

  static ModelProfile profile(Path modelFile) {
    return ModelProfile.of(dev.shoal.model.graph.ModelGraph.of(OnnxModelIO.read(modelFile), modelFile.toString()));
  }
}
