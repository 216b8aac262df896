package dev.shoal.bench.fluid;

import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.fluid.FluidBackend;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Throughput with every device up, real worker processes: Fluid high-throughput and high-accuracy
 * against Static and Dynamic (at its widest, and its narrowest width alone on device 1), each kept
 * at {@code window} requests in flight for {@code seconds} after a warm-up; accuracy of the served
 * answers on the Fashion-MNIST test images sent. Paper: high-throughput 2.5x Static, 2x Dynamic.
 */
public final class FluidThroughputSection implements FluidBenchSection {

  @Override
  public String name() {
    return "throughput";
  }

  @Override
  public ResultTable run(FluidBench.Config config, Path outDir, PrintStream progress) throws IOException {
    FluidBench.Serving s = config.serving();
    ResultTable table = new ResultTable("groups", "model", "devices", "predictedPerSecond", "measuredPerSecond",
        "vsStatic", "vsDynamic", "p50Ms", "p99Ms", "answered", "failed", "accuracy", "subnets", "loadAverage");
    for (int g : config.groups()) {
      try (FluidServingBench.Setup setup = FluidServingBench.start(config, g, name(), progress)) {
        FluidCluster c = setup.cluster();
        FluidManifest m = c.manifest();
        List<Object[]> rows = new ArrayList<>();
        double sub = c.deviceSeconds(m.subNetworks().get(0).file());
        FluidManifest.CombinedMode all = m.combined().get(m.combined().size() - 1);
        double slowestStage = all.stages().stream().mapToDouble(st -> c.deviceSeconds(st.file())).max().orElseThrow();
        try (FluidBackend b = c.fluid(FluidProducer.HIGH_THROUGHPUT)) {
          rows.add(measure(setup, b, g, "fluid high-throughput", g, g / sub, s, progress));
        }
        try (FluidBackend b = c.fluid(FluidProducer.HIGH_ACCURACY)) {
          rows.add(measure(setup, b, g, "fluid high-accuracy", g, 1 / slowestStage, s, progress));
        }
        try (PlanBackend b = c.staticModel()) {
          rows.add(measure(setup, b, g, "static", g, b.plan().predicted().throughput(), s, progress));
        }
        try (PlanBackend b = c.dynamic()) {
          rows.add(measure(setup, b, g, "dynamic " + g + "of" + g, g, b.plan().predicted().throughput(), s, progress));
        }
        try (PlanBackend b = c.dynamicNarrowest()) {
          rows.add(measure(setup, b, g, "dynamic 1of" + g + " (device 1 alone)", 1, b.plan().predicted().throughput(), s,
              progress));
        }
        double staticRate = (double) rows.get(2)[4];
        double dynamicRate = Math.max((double) rows.get(3)[4], (double) rows.get(4)[4]);
        for (Object[] r : rows) {
          r[5] = (double) r[4] / staticRate;
          r[6] = (double) r[4] / dynamicRate;
          table.row(r);
        }
      }
    }
    table.meta("deviceMacsPerSecond", s.deviceMacsPerSecond())
        .meta("window", s.window())
        .meta("seconds", s.seconds())
        .meta("emulation", "every model's compute is its MACs on a device of deviceMacsPerSecond (worker --slowdown); "
            + "the runtime's own costs on this host are measured, not scaled")
        .meta("vsDynamic", "measured over the better of Dynamic's two configurations (widest, narrowest alone)")
        .meta("predicted", "Fluid high-throughput: G devices each running its sub-network; high-accuracy: 1 / slowest "
            + "stage; Static, Dynamic: the pipeline cost model of their plans");
    table.print(progress);
    return table;
  }

  private static Object[] measure(FluidServingBench.Setup setup, ServingBackend b, int g, String model, int devices,
      double predicted, FluidBench.Serving s, PrintStream progress) throws IOException {
    progress.printf("bench fluid: throughput, G=%d, %s: warm-up, then %.0f s at %d in flight ...%n", g, model,
        s.seconds(), s.window());
    setup.driver().closedLoop(b, s.window(), Math.min(3, s.seconds() / 3), -1, () -> {});
    double load = LoadAverage.now().oneMinute();
    List<LoadDriver.Outcome> out = setup.driver().closedLoop(b, s.window(), s.seconds(), -1, () -> {});
    LoadDriver.Window w = LoadDriver.Window.of(out, 0.5, s.seconds());
    progress.printf(Locale.ROOT, "  %.1f/s (predicted %.1f/s), p50 %.0f ms, accuracy %.4f, %s%n", w.throughput(),
        predicted, w.p50Millis(), w.accuracy(), LoadDriver.subnets(out));
    return new Object[] {g, model, devices, round(predicted), round(w.throughput()), 0.0, 0.0, round(w.p50Millis()),
        round(w.p99Millis()), w.answered(), w.failed(), w.accuracy(), LoadDriver.subnets(out), load};
  }

  static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
