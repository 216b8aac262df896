package dev.shoal.bench.fluid;

import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.fluid.AutoMode;
import dev.shoal.runtime.fluid.FluidBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Auto mode under a load ramp, for the first G: requests arrive (open loop) at 0.5x, then 1.6x,
 * then 0.4x of high-accuracy mode's capacity (1 / its slowest stage on the emulated devices), a
 * third of the time each. Per second: arrivals, answers, p50 latency, answers by mode; the rule's
 * switches with their reasons; a plot ({@code auto.svg}) of latency and throughput with the mode.
 */
public final class FluidAutoSection implements FluidBenchSection {

  private static final double[] RAMP = {0.5, 1.6, 0.4};

  @Override
  public String name() {
    return "auto";
  }

  @Override
  public ResultTable run(FluidBench.Config config, Path outDir, PrintStream progress) throws IOException {
    FluidBench.Serving s = config.serving();
    int g = config.groups().get(0);
    double phase = s.seconds() * 1.5;
    ResultTable table = new ResultTable("second", "offeredPerSecond", "answeredPerSecond", "p50Ms", "highAccuracyAnswers",
        "highThroughputAnswers", "failed", "mode");
    try (FluidServingBench.Setup setup = FluidServingBench.start(config, g, name(), progress)) {
      FluidCluster c = setup.cluster();
      FluidManifest.CombinedMode all = c.manifest().combined().get(c.manifest().combined().size() - 1);
      double capacity = 1 / all.stages().stream().mapToDouble(st -> c.deviceSeconds(st.file())).max().orElseThrow();
      double load = LoadAverage.now().oneMinute();
      List<LoadDriver.Outcome> out;
      List<AutoMode.Switch> switches;
      long startNanos;
      String initial;
      try (FluidBackend b = c.fluid(FluidBackend.AUTO)) {
        setup.driver().closedLoop(b, 2, 2, -1, () -> {}); // warm-up at a light load
        progress.printf(Locale.ROOT, "bench fluid: auto, G=%d: high-accuracy capacity %.1f/s; offering %.1f, %.1f, "
            + "%.1f requests/s, %.0f s each ...%n", g, capacity, RAMP[0] * capacity, RAMP[1] * capacity,
            RAMP[2] * capacity, phase);
        int before = b.autoSwitches().size();
        initial = b.mode();
        startNanos = System.nanoTime();
        out = setup.driver().openLoop(b, t -> RAMP[Math.min(RAMP.length - 1, (int) (t / phase))] * capacity,
            phase * RAMP.length);
        switches = b.autoSwitches().subList(before, b.autoSwitches().size());
      }
      int seconds = (int) Math.ceil(phase * RAMP.length);
      double[] x = new double[seconds];
      double[] p50 = new double[seconds];
      double[] answered = new double[seconds];
      double[] mode = new double[seconds];
      for (int t = 0; t < seconds; t++) {
        int sec = t;
        List<LoadDriver.Outcome> in = out.stream().filter(o -> o.done() >= sec && o.done() < sec + 1).toList();
        LoadDriver.Window w = LoadDriver.Window.of(out, sec, sec + 1);
        long ha = in.stream().filter(o -> o.answered() && o.subnets().contains(",")).count();
        long ht = in.stream().filter(o -> o.answered() && !o.subnets().contains(",")).count();
        long offered = out.stream().filter(o -> o.sent() >= sec && o.sent() < sec + 1).count();
        String m = modeAt(initial, switches, startNanos, sec + 0.5);
        x[t] = sec;
        p50[t] = Double.isNaN(w.p50Millis()) ? 0 : w.p50Millis();
        answered[t] = w.throughput();
        mode[t] = m.equals(FluidProducer.HIGH_THROUGHPUT) ? 1 : 0;
        table.row(sec, offered, w.answered(), FluidThroughputSection.round(p50[t]), ha, ht, w.failed(), m);
      }
      for (AutoMode.Switch sw : switches) {
        progress.printf(Locale.ROOT, "  %.1f s: to %s (%s)%n", (sw.atNanos() - startNanos) / 1e9, sw.to(), sw.reason());
      }
      double peak = Arrays.stream(answered).max().orElse(1);
      for (int t = 0; t < seconds; t++) {
        mode[t] *= peak;
      }
      Path svg = outDir.resolve("auto.svg");
      Files.createDirectories(svg.getParent());
      new LineChart(String.format(Locale.ROOT, "Fluid G=%d, auto mode under a load ramp (%.1f, %.1f, %.1f req/s)", g,
          RAMP[0] * capacity, RAMP[1] * capacity, RAMP[2] * capacity), "seconds", "p50 latency (ms)", "answers / s")
          .add("p50 latency", x, p50, LineChart.Axis.LEFT)
          .add("answers/s", x, answered, LineChart.Axis.RIGHT)
          .add("high-throughput mode (on = top)", x, mode, LineChart.Axis.RIGHT)
          .writeSvg(svg, 1000, 500);
      table.meta("groups", g)
          .meta("highAccuracyCapacityPerSecond", capacity)
          .meta("ramp", RAMP[0] + "x, " + RAMP[1] + "x, " + RAMP[2] + "x of that, " + phase + " s each")
          .meta("switches", switches.stream().map(sw -> String.format(Locale.ROOT, "%.1f s: %s (%s)",
              (sw.atNanos() - startNanos) / 1e9, sw.to(), sw.reason())).toList())
          .meta("rule", AutoMode.Options.DEFAULT.toString())
          .meta("plot", svg.toString())
          .meta("loadAverage", load);
      progress.println("bench fluid: auto: plot in " + svg);
    }
    return table;
  }

  /** The mode in force at {@code second} (from the run's start), from the switches. */
  private static String modeAt(String initial, List<AutoMode.Switch> switches, long startNanos, double second) {
    String mode = initial;
    for (AutoMode.Switch sw : switches) {
      if ((sw.atNanos() - startNanos) / 1e9 <= second) {
        mode = sw.to();
      }
    }
    return mode;
  }
}
