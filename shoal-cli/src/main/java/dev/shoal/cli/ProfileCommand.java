package dev.shoal.cli;

import dev.shoal.model.chart.LineChart;
import dev.shoal.model.cost.CostModel;
import dev.shoal.model.cost.LayerTimer;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.model.graph.ModelGraph;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal profile}: per-node cost of an ONNX model along its topological order. */
@Command(
    name = "profile",
    mixinStandardHelpOptions = true,
    description = {"Per node, in the topological order Shoal cuts along: position, name, op, MACs,",
        "parameter bytes, output bytes, and the bytes crossing a cut right after it (one sample)."})
public final class ProfileCommand implements Callable<Integer> {

  enum Format { table, json }

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "the model")
  Path model;

  @Option(names = "--format", defaultValue = "table", description = "table or json (default: ${DEFAULT-VALUE})")
  Format format;

  @Option(names = "--plot", paramLabel = "FILE.png|FILE.svg",
      description = "also draw cumulative MACs and cut bytes along the order")
  Path plot;

  @Option(names = "--measure",
      description = "add per-node seconds measured with ONNX Runtime's profiler (batch 1)")
  boolean measure;

  @Option(names = "--runs", defaultValue = "20", description = "runs for --measure (default: ${DEFAULT-VALUE})")
  int runs;

  @Option(names = "--threads", defaultValue = "1",
      description = "ONNX Runtime intra-op threads for --measure (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--allow-unknown-ops",
      description = "count ops without a cost rule as 0 MACs instead of failing")
  boolean allowUnknownOps;

  @Override
  public Integer call() {
    System.err.println("profile: loading " + model + " (shapes from ONNX Runtime) ...");
    ModelGraph graph = ModelGraph.load(model);
    ModelProfile profile = ModelProfile.of(graph,
        allowUnknownOps ? CostModel.UnknownOps.COUNT_ZERO : CostModel.UnknownOps.REJECT);
    double[] seconds = null;
    if (measure) {
      System.err.println("profile: measuring " + runs + " runs with ONNX Runtime's profiler ...");
      LayerTimer.LayerTimes times = LayerTimer.measure(graph, runs, threads);
      seconds = times.seconds();
      System.err.printf(Locale.ROOT, "profile: %.3f ms per run, %.3f ms in kernels of no node (layout)%n",
          times.totalSeconds() * 1e3, times.unattributedSeconds() * 1e3);
    }
    PrintStream out = System.out;
    if (format == Format.json) {
      out.println(profile.toJson(seconds));
    } else {
      printTable(out, profile, seconds);
    }
    if (!profile.uncountedOps().isEmpty()) {
      System.err.println("profile: counted as 0 MACs (no cost rule): " + profile.uncountedOps());
    }
    if (plot != null) {
      drawPlot(profile, plot);
      System.err.println("profile: plot written to " + plot);
    }
    return 0;
  }

  private static void printTable(PrintStream out, ModelProfile p, double[] seconds) {
    int nameWidth = Math.max(4, p.nodes().stream().mapToInt(n -> n.name().length()).max().orElse(4));
    nameWidth = Math.min(nameWidth, 40);
    String head = "%5s  %-" + nameWidth + "s  %-20s %14s %12s %12s %12s";
    out.printf(Locale.ROOT, head + (seconds != null ? " %10s" : "") + "%n",
        "pos", "name", "op", "MACs", "paramBytes", "outBytes", "cutBytes", "ms");
    for (NodeCost c : p.nodes()) {
      String name = c.name().length() > nameWidth ? c.name().substring(0, nameWidth) : c.name();
      out.printf(Locale.ROOT, "%5d  %-" + nameWidth + "s  %-20s %14d %12d %12d %12d", c.position(), name,
          c.op(), c.macs(), c.paramBytes(), c.outBytes(), c.cutBytes());
      if (seconds != null) {
        out.printf(Locale.ROOT, " %10.4f", seconds[c.position()] * 1e3);
      }
      out.println();
    }
    out.printf(Locale.ROOT, "%d nodes, %d MACs (%.1f M), %d parameter bytes (%.2f MB), input %d bytes%n",
        p.nodes().size(), p.totalMacs(), p.totalMacs() / 1e6, p.totalParamBytes(),
        p.totalParamBytes() / 1e6, p.inputBytes());
  }

  private static void drawPlot(ModelProfile p, Path file) {
    int n = p.nodes().size();
    double[] x = new double[n];
    double[] macs = new double[n];
    double[] cuts = new double[n];
    double sum = 0;
    for (NodeCost c : p.nodes()) {
      sum += c.macs();
      x[c.position()] = c.position();
      macs[c.position()] = sum;
      cuts[c.position()] = c.cutBytes();
    }
    LineChart chart = new LineChart(p.graph().where(), "position in topological order",
        "cumulative MACs", "cut bytes after node")
        .add("cumulative MACs", x, macs, LineChart.Axis.LEFT)
        .add("cut bytes", x, cuts, LineChart.Axis.RIGHT);
    if (file.getFileName().toString().endsWith(".svg")) {
      chart.writeSvg(file, 1100, 500);
    } else {
      chart.writePng(file, 1100, 500);
    }
  }
}
