package dev.shoal.bench.fluid;

import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.fluid.FluidBackend;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * One worker SIGKILLed mid-stream: requests kept in flight for {@code seconds}, the kill half way,
 * for Fluid in both modes, Static and Dynamic. Per run: answers before and after, requests lost (sent
 * before the kill, never answered) and refused after it, throughput and accuracy of the served
 * answers after it, and which sub-networks answered after it. The killed worker is started again
 * between runs.
 */
public final class FluidFailureSection implements FluidBenchSection {

  @Override
  public String name() {
    return "failure";
  }

  private interface Start {
    ServingBackend start() throws IOException;
  }

  @Override
  public ResultTable run(FluidBench.Config config, Path outDir, PrintStream progress) throws IOException {
    FluidBench.Serving s = config.serving();
    ResultTable table = new ResultTable("groups", "model", "killed", "answeredBefore", "answeredAfter", "lostInFlight",
        "refusedAfter", "perSecondBefore", "perSecondAfter", "accuracyBefore", "accuracyAfter", "subnetsAfter",
        "loadAverage");
    for (int g : config.groups()) {
      try (FluidServingBench.Setup setup = FluidServingBench.start(config, g, name(), progress)) {
        FluidCluster c = setup.cluster();
        String last = "w" + g;
        run(table, setup, g, "fluid high-throughput", g, () -> c.fluid(FluidProducer.HIGH_THROUGHPUT), s, progress);
        run(table, setup, g, "fluid high-accuracy", g, () -> c.fluid(FluidProducer.HIGH_ACCURACY), s, progress);
        run(table, setup, g, "static", g, c::staticModel, s, progress);
        run(table, setup, g, "dynamic", g, c::dynamic, s, progress);
        run(table, setup, g, "dynamic", 1, c::dynamic, s, progress);
        progress.println("bench fluid: failure, G=" + g + ": done (" + last + " and w1 were killed in turn)");
      }
    }
    table.meta("deviceMacsPerSecond", s.deviceMacsPerSecond())
        .meta("window", s.window())
        .meta("seconds", s.seconds() * 2)
        .meta("killedAt", "half way, by SIGKILL")
        .meta("lostInFlight", "requests sent before the kill that ended in an error; refusedAfter: sent after it and "
            + "refused (the model cannot run on the survivors)")
        .meta("static/dynamic", "pinned to their devices as in the paper: a width runs only while every device holding "
            + "its weights is up; Shoal's pipeline re-planning could move Static onto the survivor (not measured here)");
    table.print(progress);
    return table;
  }

  private static void run(ResultTable table, FluidServingBench.Setup setup, int g, String model, int killed,
      Start start, FluidBench.Serving s, PrintStream progress) throws IOException {
    double half = s.seconds();
    progress.printf("bench fluid: failure, G=%d, %s: %.0f s at %d in flight, w%d killed after %.0f s ...%n", g, model,
        2 * half, s.window(), killed, half);
    ServingBackend b = start.start();
    try {
      setup.driver().closedLoop(b, s.window(), Math.min(3, half / 3), -1, () -> {});
      double load = LoadAverage.now().oneMinute();
      List<LoadDriver.Outcome> out = setup.driver().closedLoop(b, s.window(), 2 * half, half,
          () -> setup.cluster().kill(killed));
      LoadDriver.Window before = LoadDriver.Window.of(out, 0.5, half);
      List<LoadDriver.Outcome> afterKill = out.stream().filter(o -> o.sent() >= half).toList();
      long lost = out.stream().filter(o -> !o.answered() && o.sent() < half).count();
      long refused = afterKill.stream().filter(o -> !o.answered()).count();
      LoadDriver.Window after = LoadDriver.Window.of(afterKill, half, 2 * half);
      String recovery = b instanceof FluidBackend f ? f.backend().recoveries().toString()
          : ((PlanBackend) b).recoveries().toString();
      progress.printf(Locale.ROOT, "  before %.1f/s, after %.1f/s; lost %d, refused %d; accuracy after %.4f; %s; %s%n",
          before.throughput(), after.throughput(), lost, refused, after.accuracy(), LoadDriver.subnets(afterKill),
          recovery.length() > 200 ? recovery.substring(0, 200) + "..." : recovery);
      table.row(g, model, "w" + killed, before.answered(), after.answered(), lost, refused,
          FluidThroughputSection.round(before.throughput()), FluidThroughputSection.round(after.throughput()),
          before.accuracy(), after.accuracy(), LoadDriver.subnets(afterKill), load);
    } finally {
      b.close();
      setup.cluster().restartDead();
    }
  }
}
