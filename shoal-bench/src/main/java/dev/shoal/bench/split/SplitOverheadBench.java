package dev.shoal.bench.split;

import dev.shoal.bench.Percentiles;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.bench.ResultTable;
import dev.shoal.model.TensorData;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.StageChain;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Split overhead: the model cut into K balanced stages ({@link ModelSplitter#balancedCuts}) run back
 * to back in one process ({@link StageChain}: one ONNX Runtime session per stage, intermediate
 * tensors handed from one session to the next inside ONNX Runtime) against the whole model in one
 * session, batch 1.
 *
 * <p>All variants are timed in interleaved rounds (one run of each per round, the order rotating),
 * so drift in machine load hits them alike; overhead is the ratio of medians.
 */
public final class SplitOverheadBench {

  /** What to measure. */
  public record Config(ModelProto model, String modelName, int[] stageCounts, int warmup, int rounds,
      int threads) {}

  private record Variant(String name, int stages, String cuts, long cutBytes,
      Function<Map<String, TensorData>, Map<String, TensorData>> run) {}

  private SplitOverheadBench() {}

  /** Runs the benchmark, prints progress and the table, writes CSV, JSON and a plot under {@code out}. */
  public static ResultTable run(Config config, Path out, PrintStream progress) {
    progress.println("bench split: profiling " + config.modelName() + " ...");
    ModelGraph graph = ModelGraph.of(config.model(), config.modelName());
    ModelProfile profile = ModelProfile.of(graph);
    OnnxSession.Options options = new OnnxSession.Options(config.threads(), false);
    Map<String, TensorData> inputs = SampleInputs.random(graph, 1, 1);
    List<AutoCloseable> open = new ArrayList<>();
    try {
      List<Variant> variants = new ArrayList<>();
      OnnxSession whole = OnnxSession.open(config.model().toByteArray(), options);
      open.add(whole);
      variants.add(new Variant("whole", 1, "", 0, whole::run));
      for (int k : config.stageCounts()) {
        int[] cuts = ModelSplitter.balancedCuts(profile, k);
        Split split = ModelSplitter.split(profile, cuts);
        StageChain chain = StageChain.open(split, options);
        open.add(chain);
        long bytes = Arrays.stream(cuts).mapToLong(c -> profile.nodes().get(c).cutBytes()).sum();
        variants.add(new Variant(k + " stages", k, Arrays.toString(cuts).replace(" ", ""), bytes, chain::run));
      }
      progress.printf("bench split: %d nodes, %.1f M MACs; warm-up %d, %d interleaved rounds, %d thread(s)%n",
          graph.nodes().size(), profile.totalMacs() / 1e6, config.warmup(), config.rounds(), config.threads());
      for (Variant v : variants) {
        for (int i = 0; i < config.warmup(); i++) {
          v.run().apply(inputs);
        }
      }
      double[][] ms = new double[variants.size()][config.rounds()];
      for (int r = 0; r < config.rounds(); r++) {
        for (int j = 0; j < variants.size(); j++) {
          int v = (j + r) % variants.size();
          long t = System.nanoTime();
          variants.get(v).run().apply(inputs);
          ms[v][r] = (System.nanoTime() - t) / 1e6;
        }
        if ((r + 1) % Math.max(1, config.rounds() / 5) == 0) {
          progress.printf("bench split: round %d/%d%n", r + 1, config.rounds());
        }
      }
      ResultTable table = new ResultTable("variant", "stages", "cutsAfter", "cutBytes", "medianMs",
          "meanMs", "p90Ms", "overheadPct")
          .meta("model", config.modelName())
          .meta("nodes", graph.nodes().size())
          .meta("macs", profile.totalMacs())
          .meta("batch", 1)
          .meta("threads", config.threads())
          .meta("warmup", config.warmup())
          .meta("rounds", config.rounds())
          .meta("cpus", Runtime.getRuntime().availableProcessors());
      double base = median(ms[0]);
      double[] ks = new double[variants.size()];
      double[] medians = new double[variants.size()];
      for (int v = 0; v < variants.size(); v++) {
        Variant var = variants.get(v);
        double med = median(ms[v]);
        ks[v] = var.stages();
        medians[v] = med;
        table.row(var.name(), var.stages(), var.cuts(), var.cutBytes(), med, Arrays.stream(ms[v]).average().orElse(0),
            percentile(ms[v], 0.9), (med / base - 1) * 100);
      }
      table.print(progress);
      table.writeCsv(out.resolve("split-overhead.csv"));
      table.writeJson(out.resolve("split-overhead.json"));
      new LineChart("Split overhead, " + config.modelName(), "stages (1 = whole model)", "median ms per run", null)
          .add("median latency", ks, medians, LineChart.Axis.LEFT)
          .writePng(out.resolve("split-overhead.png"), 800, 450);
      progress.println("bench split: results in " + out);
      return table;
    } finally {
      for (AutoCloseable c : open) {
        try {
          c.close();
        } catch (Exception e) {
          progress.println("bench split: closing a session failed: " + e.getMessage());
        }
      }
    }
  }

  private static double median(double[] v) {
    return percentile(v, 0.5);
  }

  private static double percentile(double[] v, double p) {
    double[] s = v.clone();
    Arrays.sort(s);
    return Percentiles.nearestRank(s, p);
  }
}
