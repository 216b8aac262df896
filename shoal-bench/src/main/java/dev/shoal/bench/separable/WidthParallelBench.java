package dev.shoal.bench.separable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.bench.BenchCerts;
import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.bench.pipeline.NetNamespaces;
import dev.shoal.bench.pipeline.PipelineThroughput;
import dev.shoal.bench.pipeline.ThroughputProbe;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.SeparableManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.runtime.worker.WorkerProcess;
import dev.shoal.train.separable.PolicySearchRecipe;
import dev.shoal.train.separable.SeparableRecipe;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Served width parallelism (issue 14): a separable network under its searched policy and under the
 * baseline (exchanging at every block), and a 4-stage pipeline of the non-separable network, each
 * on the same {@code G} real worker processes (mutual TLS), on loopback and in network namespaces
 * whose workers' egress is shaped with {@code tc tbf}. A coordinator process keeps a window of
 * one-image requests in flight; the table gives throughput, latency percentiles, the bytes the
 * workers sent per inference, and the load average of this (shared) host at the time.
 */
public final class WidthParallelBench {

  private WidthParallelBench() {}

  /**
   * @param search a directory written by {@code shoal search-policy} (its results name the searched
   *     and baseline exports; the reference ONNX beside them)
   * @param searchedRow the row of its results served as the searched plan (e.g. a policy trained
   *     alone, {@code shoal train separable --policy})
   * @param baselineRow the row served as the every-block baseline plan
   * @param rates tbf rates (Mbit/s) to measure in namespaces besides loopback
   */
  public static ResultTable run(
      Path search, String searchedRow, String baselineRow, List<Integer> rates, int requests, int window, Path out,
      PrintStream log) throws Exception {
    Path resultsFile = search.resolve(PolicySearchRecipe.RESULTS);
    if (!Files.isRegularFile(resultsFile)) {
      throw new IllegalArgumentException(resultsFile + " does not exist (run `shoal search-policy` first)");
    }
    PolicySearchRecipe.Results results =
        new ObjectMapper().readValue(resultsFile.toFile(), PolicySearchRecipe.Results.class);
    Path searched = search.resolve(exportOf(results, searchedRow, resultsFile));
    Path baseline = search.resolve(exportOf(results, baselineRow, resultsFile));
    Path reference = search.resolve(SeparableRecipe.REFERENCE_MODEL);
    for (Path p : List.of(searched.resolve(SeparableManifest.FILE_NAME), baseline.resolve(SeparableManifest.FILE_NAME),
        reference)) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(p + " does not exist (run `shoal search-policy` with a trained reference)");
      }
    }
    int groups = SeparableManifest.read(searched).groups();
    Path work = Files.createDirectories(out.resolve("work"));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < groups; i++) {
      names.add("w" + i);
    }
    Path certs = BenchCerts.provision(work.resolve("certs"), names);
    Path stages = work.resolve("pipeline-stages");
    ModelProfile profile = ModelProfile.of(ModelGraph.load(reference));
    ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, groups)).writeTo(stages);

    ResultTable table = new ResultTable("network", "plan", "workers", "policy_bytes", "worker_bytes_out_per_inference",
        "throughput_per_s",
        "p50_ms", "p99_ms", "errors", "mismatches", "load_average");
    table.meta("requests", requests);
    table.meta("window", window);
    table.meta("searchedRow", searchedRow);
    table.meta("baselineRow", baselineRow);
    List<Integer> networks = new ArrayList<>(List.of(0));
    networks.addAll(rates);
    for (int rate : networks) {
      String network = rate == 0 ? "loopback" : "tbf-" + rate + "mbit";
      try (NetNamespaces ns = rate == 0 ? null : new NetNamespaces(groups, rate)) {
        for (String plan : List.of("searched", "baseline", "pipeline")) {
          List<WorkerProcess> workers = new ArrayList<>();
          try {
            List<String> endpoints = new ArrayList<>();
            for (int i = 0; i < groups; i++) {
              WorkerProcess w = WorkerProcess.start(ns == null ? List.of() : ns.exec(i + 1), names.get(i),
                  ns == null ? "127.0.0.1:0" : ns.address(i + 1) + ":7070", 1.0, certs.resolve(names.get(i)),
                  work.resolve(network + "-" + plan + "-" + names.get(i) + ".log"));
              workers.add(w);
              endpoints.add(w.name() + "=" + w.address());
            }
            List<String> prefix = ns == null ? List.of() : ns.exec(0);
            Path probeLog = work.resolve(network + "-" + plan + "-probe.log");
            JsonNode r;
            double bytes;
            if (plan.equals("pipeline")) {
              List<String> args = new ArrayList<>(List.of(reference.toString(), stages.toString(),
                  certs.resolve(BenchCerts.COORDINATOR).toString(), Integer.toString(requests), Integer.toString(window),
                  "raw"));
              args.addAll(endpoints);
              r = PipelineThroughput.probe(prefix, ThroughputProbe.class.getName(), args, probeLog);
              bytes = 0;
              for (JsonNode l : r.get("links")) {
                if (!l.get("from").asText().equals("coordinator")) { // every stage's frames out, answers included
                  bytes += l.get("bytesPerInference").asDouble();
                }
              }
            } else {
              List<String> args = new ArrayList<>(List.of((plan.equals("searched") ? searched : baseline).toString(),
                  certs.toString(), Integer.toString(requests), Integer.toString(window)));
              args.addAll(endpoints);
              r = PipelineThroughput.probe(prefix, WidthParallelProbe.class.getName(), args, probeLog);
              bytes = r.get("workerBytesOutPerInference").asDouble();
            }
            String load = LoadAverage.now().oneMinuteText();
            Object policyBytes = plan.equals("pipeline") ? "-"
                : SeparableManifest.read(plan.equals("searched") ? searched : baseline).bytesPerInference();
            table.row(network, plan, groups, policyBytes, Math.round(bytes), round(r.get("throughput").asDouble(), 1),
                round(r.get("p50Ms").asDouble(), 2), round(r.get("p99Ms").asDouble(), 2), r.get("errors").asInt(),
                r.get("mismatches").asInt(), load);
            log.printf(Locale.ROOT, "%-12s %-9s %8d B/inference, %7.1f/s, p50 %.2f ms, p99 %.2f ms (load %s)%n", network,
                plan, Math.round(bytes), r.get("throughput").asDouble(), r.get("p50Ms").asDouble(),
                r.get("p99Ms").asDouble(), load);
          } finally {
            workers.forEach(WorkerProcess::close);
          }
        }
      }
    }
    log.println();
    table.print(log);
    table.writeCsv(out.resolve("widthpar.csv"));
    table.writeJson(out.resolve("widthpar.json"));
    log.println("-> " + out.resolve("widthpar.csv") + ", " + out.resolve("widthpar.json"));
    return table;
  }

  /** The export directory of a measured policy, as {@code shoal search-policy} recorded it. */
  static String exportOf(PolicySearchRecipe.Results results, String name, Path file) {
    return results.measured().stream().filter(m -> m.name().equals(name) && m.policy() != null).findFirst()
        .orElseThrow(() -> new IllegalArgumentException(file + " records no '" + name + "' policy"))
        .dir();
  }

  private static double round(double v, int places) {
    double f = Math.pow(10, places);
    return Math.round(v * f) / f;
  }
}
