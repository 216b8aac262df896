package dev.shoal.bench.planner;

import dev.shoal.bench.Percentiles;
import dev.shoal.bench.ResultTable;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.RandomInstances;
import dev.shoal.plan.replicate.ReplicatedPlan;
import dev.shoal.plan.replicate.Replicator;
import dev.shoal.plan.solve.GreedySolver;
import dev.shoal.plan.solve.HeuristicSolver;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code shoal bench planner}: our solvers in the planner paper's own setting next to its published
 * figures, a suite on the full cost model with the CP-SAT cross-check, and exact solve times at
 * 50 x 8 and 100 x 16. All bottlenecks are in milliseconds.
 */
public final class PlannerBench {

  /** What to run; see {@code BenchPlannerCommand} for the meaning and defaults of each. */
  public record Config(
      List<String> models,
      int[] paperDevices,
      int[] paperMemoryMiB,
      int paperPlacements,
      int randomDraws,
      double exactLimitSeconds,
      int[] suiteDevices,
      int[] suiteLayers,
      int suiteSeeds,
      double cpSatSeconds,
      int timingSeeds) {}

  /** The paper's published bottlenecks at 50 devices and 64 MB: {k-path algorithm, random}, seconds. */
  private static final Map<String, double[]> PUBLISHED =
      Map.of("mobilenetv2", new double[] {0.033, 2.20}, "resnet50", new double[] {1.31, 7.97});

  private final Config config;
  private final PrintStream out;
  private final PrintStream progress;
  private final Map<String, ModelProfile> profiles = new LinkedHashMap<>();
  private final List<Ratios> ratioSets = new ArrayList<>();

  private PlannerBench(Config config, PrintStream out, PrintStream progress) {
    this.config = config;
    this.out = out;
    this.progress = progress;
  }

  public static void run(Config config, Path dir, PrintStream out, PrintStream progress) {
    new PlannerBench(config, out, progress).run(dir);
  }

  private void run(Path dir) {
    long start = System.nanoTime();
    for (String name : config.models()) {
      progress.println("bench planner: profiling " + name + " (zoo, 224x224) ...");
      profiles.put(name, ModelProfile.of(ModelGraph.of(ModelZoo.benchmarkModel(name), name)));
    }
    ResultTable paper = paperSetting(dir);
    ResultTable suite = suite();
    ResultTable timing = timing(dir);
    ResultTable headline = headline();
    for (var entry : List.of(
        Map.entry("paper", paper), Map.entry("suite", suite), Map.entry("timing", timing),
        Map.entry("headline", headline))) {
      ResultTable table = entry.getValue();
      meta(table);
      table.writeCsv(dir.resolve(entry.getKey() + ".csv"));
      table.writeJson(dir.resolve(entry.getKey() + ".json"));
    }
    out.println();
    out.println("== (a) the paper's setting: bottlenecks in ms (compute 0, 1.44x compressed cuts, no input transfer) ==");
    paper.print(out);
    out.println();
    out.println("== (b) suite on the full cost model: bottlenecks in ms ==");
    suite.print(out);
    out.println();
    out.println("== (c) solve times on random instances (wall clock and the solving thread's CPU time) ==");
    timing.print(out);
    out.println();
    out.println("== headline: mean ratios to the exact optimum (over instances with a proven optimum > 0) ==");
    headline.print(out);
    progress.printf(Locale.ROOT, "bench planner: done in %.0f s; results in %s%n", (System.nanoTime() - start) / 1e9, dir);
  }

  private void meta(ResultTable table) {
    table.meta("models", config.models())
        .meta("paperDevices", config.paperDevices())
        .meta("paperMemoryMiB", config.paperMemoryMiB())
        .meta("paperPlacements", config.paperPlacements())
        .meta("randomDraws", config.randomDraws())
        .meta("exactLimitSeconds", config.exactLimitSeconds())
        .meta("suiteDevices", config.suiteDevices())
        .meta("suiteLayers", config.suiteLayers())
        .meta("suiteSeeds", config.suiteSeeds())
        .meta("cpSatSeconds", config.cpSatSeconds())
        .meta("timingSeeds", config.timingSeeds())
        .meta("cpus", Runtime.getRuntime().availableProcessors())
        .meta("java", System.getProperty("java.version"));
  }

  private long exactLimitMillis() {
    return Math.round(config.exactLimitSeconds() * 1000);
  }

  // ---- (a) the paper's setting ----

  private ResultTable paperSetting(Path dir) {
    ResultTable table =
        new ResultTable(
            "model", "memMiB", "devices", "stages", "boundMs", "randomMs", "greedyMs", "heuristicMs", "exactMs",
            "exactProof", "exactOverBoundPct", "paperMs", "paperRandomMs", "exactSolveMs");
    Ratios ratios = new Ratios("paper setting");
    // series -> {devices, bottleneck s}: ResNet-50 at 64 MiB (the paper's cell), every model at the smallest cap
    Map<String, double[][]> byDevices = new LinkedHashMap<>();
    Map<String, double[][]> byModel = new LinkedHashMap<>();
    int smallest = Arrays.stream(config.paperMemoryMiB()).min().orElseThrow();
    for (String model : config.models()) {
      ModelProfile profile = profiles.get(model);
      for (int memory : config.paperMemoryMiB()) {
        for (int devices : config.paperDevices()) {
          Mean bound = new Mean();
          Mean random = new Mean();
          Mean greedy = new Mean();
          Mean heuristic = new Mean();
          Mean exact = new Mean();
          Mean solveMs = new Mean();
          int stages = 0;
          int proven = 0;
          int infeasible = 0;
          for (int p = 1; p <= config.paperPlacements(); p++) {
            Instance instance = PaperSetting.instance(profile, devices, (long) memory << 20, 1000L * devices + p);
            SolverRun run;
            try {
              run = SolverRun.of(instance, config.randomDraws(), exactLimitMillis());
            } catch (InfeasibleInstanceException e) {
              infeasible++;
              continue;
            }
            bound.add(PaperSetting.lowerBound(instance));
            random.add(run.random());
            greedy.add(run.greedy());
            heuristic.add(run.heuristic());
            exact.add(run.exact());
            solveMs.add(run.exactMillis());
            stages = Math.max(stages, run.stages());
            proven += run.bottleneckProven() && run.latencyProven() ? 1 : 0;
            if (run.bottleneckProven()) {
              ratios.add(run);
            }
          }
          int placements = config.paperPlacements();
          progress.printf(
              Locale.ROOT, "bench planner: paper %s %d MiB %d devices: exact %.3f ms (%d/%d optimal, %d infeasible)%n",
              model, memory, devices, exact.value() * 1e3, proven, placements, infeasible);
          if (infeasible == placements) {
            table.row(model, memory, devices, "-", "-", "-", "-", "-", "-", "infeasible (memory)", "-", "-", "-", "-");
            continue;
          }
          double[] published = memory == 64 && devices == 50 ? PUBLISHED.get(model) : null;
          double b = bound.value();
          double e = exact.value();
          table.row(
              model, memory, devices, stages, b * 1e3, random.value() * 1e3, ms(greedy.value()),
              ms(heuristic.value()), e * 1e3,
              proven == placements - infeasible ? "optimal" : proven + "/" + (placements - infeasible) + " optimal",
              b > 0 ? (e / b - 1) * 100 : (e == 0 ? 0.0 : "-"),
              published == null ? "-" : published[0] * 1e3, published == null ? "-" : published[1] * 1e3,
              solveMs.value());
          if (memory == 64 && model.equals("resnet50")) {
            plot(byDevices, "random", devices, random.value());
            plot(byDevices, "greedy", devices, greedy.value());
            plot(byDevices, "exact", devices, e);
            plot(byDevices, "lower bound (paper's optimal)", devices, b);
          }
          if (memory == smallest) {
            plot(byModel, "exact " + model, devices, e);
          }
        }
      }
    }
    ratioSets.add(ratios);
    chart("Paper setting, ResNet-50, 64 MiB per device", byDevices, dir.resolve("paper.png"));
    chart("Paper setting, " + smallest + " MiB per device: exact optimum", byModel, dir.resolve("paper-models.png"));
    return table;
  }

  private static void chart(String title, Map<String, double[][]> series, Path file) {
    if (series.isEmpty()) {
      return;
    }
    LineChart chart = new LineChart(title, "devices", "bottleneck (s)", null);
    for (var entry : series.entrySet()) {
      chart.add(entry.getKey(), entry.getValue()[0], entry.getValue()[1], LineChart.Axis.LEFT);
    }
    chart.writePng(file, 1000, 560);
  }

  private static void plot(Map<String, double[][]> plotted, String series, int x, double y) {
    if (Double.isNaN(y)) {
      return;
    }
    double[][] points = plotted.computeIfAbsent(series, k -> new double[][] {new double[0], new double[0]});
    points[0] = Arrays.copyOf(points[0], points[0].length + 1);
    points[1] = Arrays.copyOf(points[1], points[1].length + 1);
    points[0][points[0].length - 1] = x;
    points[1][points[1].length - 1] = y;
  }

  // ---- (b) suite on the full cost model ----

  private ResultTable suite() {
    ResultTable table =
        new ResultTable(
            "instance", "layers", "devices", "stages", "randomMs", "greedyMs", "heuristicMs", "exactMs",
            "exactProof", "cpSatMs", "cpSat", "agree", "exactSolveMs", "exactCpuMs", "heuristicSolveMs", "cpSatSolveMs",
            "replicatedMs", "replicas");
    Ratios ratios = new Ratios("suite");
    List<Named> instances = new ArrayList<>();
    for (int seed = 1; seed <= config.suiteSeeds(); seed++) {
      for (String model : config.models()) {
        for (int devices : config.suiteDevices()) {
          long s = 100L * devices + seed;
          instances.add(new Named("zoo " + model + " s" + seed, () -> SuiteClusters.instance(profiles.get(model), devices, s)));
        }
      }
      for (int layers : config.suiteLayers()) {
        for (int devices : config.suiteDevices()) {
          long s = 7919L * layers + 100L * devices + seed;
          instances.add(new Named("random s" + s, () -> RandomInstances.generate(layers, devices, s)));
        }
      }
    }
    CpSatPlanner cpSat = config.cpSatSeconds() > 0 ? new CpSatPlanner(config.cpSatSeconds()) : null;
    Mean replication = new Mean();
    int agreed = 0;
    int checked = 0;
    for (Named named : instances) {
      Instance instance = named.instance().get();
      int layers = instance.layers().size();
      int devices = instance.devices().size();
      SolverRun run;
      try {
        run = SolverRun.of(instance, config.randomDraws(), exactLimitMillis());
      } catch (InfeasibleInstanceException e) {
        progress.println("bench planner: suite " + named.name() + ": infeasible (" + e.getMessage() + ")");
        table.row(
            named.name(), layers, devices, "-", "-", "-", "-", "-", "infeasible", "-", "-", "-", "-", "-", "-", "-", "-",
            "-");
        continue;
      }
      if (run.bottleneckProven()) {
        ratios.add(run);
      }
      Object cpSatMs = "-";
      String cpSatStatus = "skipped";
      String agree = "-";
      Object cpSatSolveMs = "-";
      if (cpSat != null) {
        double upper = Double.isNaN(run.heuristic()) ? Double.POSITIVE_INFINITY : run.heuristic();
        CpSatPlanner.Result result = cpSat.solve(instance, upper);
        cpSatSolveMs = result.millis();
        cpSatStatus = result.bottleneckStatus().name().toLowerCase(Locale.ROOT);
        if (result.stages() != null) {
          double found = new PipelineCost(instance).evaluate(result.stages()).bottleneck();
          cpSatMs = found * 1e3;
          // integer rounding: CP-SAT's optimum is within (layers + 2) units of the true one
          double slack = (layers + 2) * result.unit() + 1e-12;
          boolean same = Math.abs(found - run.exact()) <= slack;
          if (found < run.exact() - slack) {
            agree = "NO: cp-sat better";
          } else if (result.bottleneckStatus() == CpSatPlanner.Status.OPTIMAL) {
            agree = same ? "yes" : "NO: exact better";
            checked++;
            agreed += same ? 1 : 0;
          } else {
            agree = found >= run.exact() - slack ? "not proven" : "-";
          }
        }
      }
      PipelineCost cost = new PipelineCost(instance);
      ReplicatedPlan replicated = Replicator.replicate(cost, run.exactPlan());
      int replicas = replicated.stages().stream().mapToInt(s -> s.devices().size() - 1).sum();
      replication.add(run.exact() / replicated.period(cost));
      progress.printf(
          Locale.ROOT, "bench planner: suite %s (%d x %d): exact %.3f ms (%s) in %.0f ms, cp-sat %s%n",
          named.name(), layers, devices, run.exact() * 1e3, run.proof(), run.exactMillis(), cpSatStatus);
      table.row(
          named.name(), layers, devices, run.stages(), run.random() * 1e3, ms(run.greedy()), ms(run.heuristic()),
          run.exact() * 1e3, run.proof(), cpSatMs, cpSatStatus, agree, run.exactMillis(), run.exactCpuMillis(),
          run.heuristicMillis(), cpSatSolveMs, replicated.period(cost) * 1e3, replicas);
    }
    table.meta("cpSatAgreement", agreed + "/" + checked + " instances where CP-SAT proved its optimum");
    table.meta(
        "replication",
        String.format(
            Locale.ROOT,
            "extension, changes the cost model: bottleneck stages replicated round-robin on unused devices;"
                + " mean exact bottleneck / replicated period %.3f", replication.value()));
    ratioSets.add(ratios);
    return table;
  }

  private record Named(String name, java.util.function.Supplier<Instance> instance) {}

  // ---- (c) solve times ----

  private ResultTable timing(Path dir) {
    ResultTable table =
        new ResultTable(
            "solver", "layers", "devices", "instances", "provenOptimal", "p50Ms", "p99Ms", "maxMs", "cpuP50Ms",
            "cpuP99Ms", "cpuMaxMs", "heuristicOverExact", "heuristicOverGreedy");
    LineChart chart = new LineChart("Exact solve time, random instances", "fraction of instances", "ms", null);
    for (int[] size : new int[][] {{50, 8}, {100, 16}}) {
      Ratios ratios = new Ratios("random " + size[0] + " x " + size[1]);
      Samples wall = new Samples();
      Samples cpu = new Samples();
      int proven = 0;
      for (int seed = 1; seed <= config.timingSeeds(); seed++) {
        Instance instance = RandomInstances.generate(size[0], size[1], 50_000L + seed);
        SolverRun run;
        try {
          run = SolverRun.of(instance, config.randomDraws(), exactLimitMillis());
        } catch (InfeasibleInstanceException e) {
          progress.println("bench planner: timing seed " + seed + ": infeasible");
          continue;
        }
        wall.add(run.exactMillis());
        cpu.add(run.exactCpuMillis());
        proven += run.bottleneckProven() && run.latencyProven() ? 1 : 0;
        if (run.bottleneckProven()) {
          ratios.add(run);
        }
      }
      ratioSets.add(ratios);
      progress.printf(
          Locale.ROOT, "bench planner: timing exact %d x %d: p50 %.1f ms (cpu %.1f ms), p99 %.1f ms over %d instances%n",
          size[0], size[1], wall.percentile(0.5), cpu.percentile(0.5), wall.percentile(0.99), wall.count());
      table.row(
          "exact", size[0], size[1], wall.count(), proven + "/" + wall.count(), wall.percentile(0.5),
          wall.percentile(0.99), wall.percentile(1.0), cpu.percentile(0.5), cpu.percentile(0.99), cpu.percentile(1.0),
          ratios.heuristic.value(), "-");
      if (wall.count() > 0) {
        chart.add(size[0] + " layers x " + size[1] + " devices (wall)", wall.fractions(), wall.sorted(), LineChart.Axis.LEFT);
        chart.add(size[0] + " layers x " + size[1] + " devices (cpu)", cpu.fractions(), cpu.sorted(), LineChart.Axis.LEFT);
      }
    }
    // beyond the exact solver's reach (more than 64 devices): the heuristic alone, against greedy
    for (int[] size : new int[][] {{100, 64}, {100, 128}}) {
      Samples wall = new Samples();
      Samples cpu = new Samples();
      Mean overGreedy = new Mean();
      int instances = Math.min(config.timingSeeds(), 5);
      for (int seed = 1; seed <= instances; seed++) {
        Instance instance = RandomInstances.generate(size[0], size[1], 60_000L + seed);
        long start = System.nanoTime();
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        double heuristic;
        try {
          heuristic = new HeuristicSolver().solve(instance).bottleneck();
        } catch (InfeasibleInstanceException e) {
          progress.println("bench planner: heuristic " + size[0] + " x " + size[1] + " seed " + seed + ": " + e.getMessage());
          continue;
        }
        wall.add((System.nanoTime() - start) / 1e6);
        cpu.add((THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e6);
        try {
          overGreedy.add(heuristic / new GreedySolver().solve(instance).bottleneck());
        } catch (InfeasibleInstanceException e) {
          // greedy found no plan: nothing to compare
        }
      }
      progress.printf(
          Locale.ROOT, "bench planner: timing heuristic %d x %d: p50 %.1f ms (cpu %.1f ms) over %d instances%n",
          size[0], size[1], wall.percentile(0.5), cpu.percentile(0.5), wall.count());
      table.row(
          "heuristic", size[0], size[1], wall.count(), "-", wall.percentile(0.5), wall.percentile(0.99),
          wall.percentile(1.0), cpu.percentile(0.5), cpu.percentile(0.99), cpu.percentile(1.0), "-",
          overGreedy.value());
    }
    chart.writePng(dir.resolve("timing.png"), 900, 500);
    table.meta("loadAverageAtEnd", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    return table;
  }

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /** Timing samples in ms. */
  private static final class Samples {
    private final List<Double> values = new ArrayList<>();

    void add(double value) {
      values.add(value);
    }

    int count() {
      return values.size();
    }

    double[] sorted() {
      return values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    double[] fractions() {
      double[] f = new double[values.size()];
      for (int i = 0; i < f.length; i++) {
        f[i] = (i + 1) / (double) f.length;
      }
      return f;
    }

    double percentile(double p) {
      return Percentiles.nearestRank(sorted(), p);
    }
  }


  // ---- headline ----

  private ResultTable headline() {
    ResultTable table =
        new ResultTable(
            "instances", "count", "randomOverExact", "greedyOverExact", "heuristicOverExact",
            "heuristicWorst", "heuristicOptimalShare", "greedyMissed");
    for (Ratios r : ratioSets) {
      table.row(
          r.name, r.count, r.random.value(), r.greedy.value(), r.heuristic.value(), r.heuristicWorst,
          r.count == 0 ? "-" : r.heuristicOptimal + "/" + r.count, r.greedyMissed);
    }
    return table;
  }

  /** Ratios of each baseline to exact over instances with a proven optimum above zero. */
  private static final class Ratios {
    final String name;
    final Mean random = new Mean();
    final Mean greedy = new Mean();
    final Mean heuristic = new Mean();
    double heuristicWorst = 1.0;
    int heuristicOptimal;
    int greedyMissed;
    int count;

    Ratios(String name) {
      this.name = name;
    }

    void add(SolverRun run) {
      if (!(run.exact() > 0)) {
        return;
      }
      count++;
      random.add(run.random() / run.exact());
      if (Double.isNaN(run.greedy())) {
        greedyMissed++;
      }
      greedy.add(run.greedy() / run.exact());
      double h = run.heuristic() / run.exact();
      heuristic.add(h);
      if (!Double.isNaN(h)) {
        heuristicWorst = Math.max(heuristicWorst, h);
        heuristicOptimal += h <= 1 + 1e-9 ? 1 : 0;
      }
    }
  }

  /** Mean of the values that are not NaN (NaN when none). */
  private static final class Mean {
    private double sum;
    private int n;

    void add(double value) {
      if (!Double.isNaN(value)) {
        sum += value;
        n++;
      }
    }

    double value() {
      return n == 0 ? Double.NaN : sum / n;
    }
  }

  /** Seconds as milliseconds, or "-" for no plan. */
  private static Object ms(double seconds) {
    return Double.isNaN(seconds) ? "-" : seconds * 1e3;
  }
}
