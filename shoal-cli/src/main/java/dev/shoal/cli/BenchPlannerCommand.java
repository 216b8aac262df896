package dev.shoal.cli;

import dev.shoal.bench.planner.PlannerBench;
import dev.shoal.model.zoo.ModelZoo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench planner}: the planner against the paper's figures, a CP-SAT-checked suite, solve times. */
@Command(
    name = "planner",
    mixinStandardHelpOptions = true,
    description = {
      "Planner benchmark: (a) the paper's setting (devices in a 150x150 square, bandwidth",
      "log2(1+283230/d^2) Mbit/s, homogeneous memory, compute 0) next to its published figures;",
      "(b) a suite of zoo and random profiles on heterogeneous clusters with the CP-SAT cross-check;",
      "(c) exact solve times at 50x8 and 100x16. Writes paper/suite/timing/headline .csv and .json",
      "and paper.png, paper-models.png, timing.png to --out. The defaults take about 4 minutes on 2",
      "shared cores; a fuller run (much longer):",
      "  --paper-placements 10 --random-draws 20 --suite-seeds 3 --timing-seeds 100 --cp-sat-seconds 20"
    })
public final class BenchPlannerCommand implements Callable<Integer> {

  @Option(names = "--models", split = ",", defaultValue = "mobilenetv2,resnet50,densenet121,inception",
      description = "zoo models (default: ${DEFAULT-VALUE})")
  List<String> models;

  @Option(names = "--paper-devices", split = ",", defaultValue = "5,10,15,20,50",
      description = "device counts of the paper setting (default: ${DEFAULT-VALUE})")
  int[] paperDevices;

  @Option(names = "--paper-memory", split = ",", defaultValue = "16,32,64,128,256,512",
      description = "memory caps in MiB (the paper: 64-512; 16 and 32 force splits) (default: ${DEFAULT-VALUE})")
  int[] paperMemory;

  @Option(names = "--paper-placements", defaultValue = "1",
      description = "random device placements averaged per cell (default: ${DEFAULT-VALUE})")
  int paperPlacements;

  @Option(names = "--random-draws", defaultValue = "5",
      description = "plans drawn by the random baseline, averaged (default: ${DEFAULT-VALUE})")
  int randomDraws;

  @Option(names = "--exact-seconds", defaultValue = "10",
      description = "time limit of one exact solve; past it the bound proven so far is reported (default: ${DEFAULT-VALUE})")
  double exactSeconds;

  @Option(names = "--suite-devices", split = ",", defaultValue = "2,4,8,16",
      description = "device counts of the suite (default: ${DEFAULT-VALUE})")
  int[] suiteDevices;

  @Option(names = "--suite-layers", split = ",", defaultValue = "20,50,100",
      description = "layer counts of the suite's random profiles (default: ${DEFAULT-VALUE})")
  int[] suiteLayers;

  @Option(names = "--suite-seeds", defaultValue = "1", description = "clusters per suite cell (default: ${DEFAULT-VALUE})")
  int suiteSeeds;

  @Option(names = "--cp-sat-seconds", defaultValue = "3",
      description = "CP-SAT time limit per phase, 0 to skip it (default: ${DEFAULT-VALUE})")
  double cpSatSeconds;

  @Option(names = "--timing-seeds", defaultValue = "30",
      description = "random instances per timed size (default: ${DEFAULT-VALUE})")
  int timingSeeds;

  @Option(names = "--out", defaultValue = "bench-results/planner",
      description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() {
    for (String model : models) {
      if (!ModelZoo.benchmarkModelNames().contains(model)) {
        throw new IllegalArgumentException(
            "--models: unknown zoo model '" + model + "' (known: " + ModelZoo.benchmarkModelNames() + ")");
      }
    }
    positive("--paper-devices", paperDevices);
    positive("--paper-memory", paperMemory);
    positive("--suite-devices", suiteDevices);
    positive("--suite-layers", suiteLayers);
    if (paperPlacements < 1 || randomDraws < 1 || suiteSeeds < 0 || timingSeeds < 0) {
      throw new IllegalArgumentException(
          "--paper-placements and --random-draws must be >= 1, --suite-seeds and --timing-seeds >= 0");
    }
    if (!(exactSeconds > 0) || cpSatSeconds < 0) {
      throw new IllegalArgumentException("--exact-seconds must be > 0 and --cp-sat-seconds >= 0");
    }
    PlannerBench.run(
        new PlannerBench.Config(
            List.copyOf(models), paperDevices, paperMemory, paperPlacements, randomDraws, exactSeconds,
            suiteDevices, suiteLayers, suiteSeeds, cpSatSeconds, timingSeeds),
        out, System.out, System.err);
    return 0;
  }

  private static void positive(String option, int[] values) {
    if (values.length == 0 || Arrays.stream(values).anyMatch(v -> v < 1)) {
      throw new IllegalArgumentException(option + ": every value must be >= 1, got " + Arrays.toString(values));
    }
  }
}
