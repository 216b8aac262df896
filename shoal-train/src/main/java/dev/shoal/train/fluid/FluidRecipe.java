package dev.shoal.train.fluid;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.MaxPool;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.recipes.Progress;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.fluid.TrainingPlan.DynamicUnit;
import dev.shoal.train.fluid.TrainingPlan.Finished;
import dev.shoal.train.fluid.TrainingPlan.FluidPhase;
import dev.shoal.train.fluid.TrainingPlan.StaticUnit;
import dev.shoal.train.fluid.TrainingPlan.Unit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Trains the Fluid networks (every phase of nested incremental training) and the Static and Dynamic
 * baselines with one recipe, one unit after another, each unit's parameters checkpointed under
 * {@code <out>/checkpoints} when it finishes; a rerun skips the finished units. Then exports every
 * model for serving ({@link FluidExport}).
 */
public final class FluidRecipe {

  public static final String CHECKPOINTS = "checkpoints";

  /** Dynamic's widths: k/2 and k/3 of every layer, so one slimmable network serves G = 2 and G = 3. */
  public static final List<SlimmableNet.Width> DYNAMIC_WIDTHS =
      List.of(
          new SlimmableNet.Width(1, 3),
          new SlimmableNet.Width(1, 2),
          new SlimmableNet.Width(2, 3),
          new SlimmableNet.Width(1, 1));

  /** What to train: the Fluid networks' group counts, and whether to train the baselines too. */
  public record Settings(List<Integer> groups, boolean baselines) {
    public Settings {
      groups = List.copyOf(groups);
      if (groups.isEmpty() && !baselines) {
        throw new IllegalArgumentException("nothing to train: no --groups and no baselines");
      }
      for (int g : groups) {
        if (g < 2 || g > 4) {
          throw new IllegalArgumentException("a Fluid network needs 2 to 4 groups, got " + g);
        }
      }
    }
  }

  private FluidRecipe() {}

  /** The Static baseline: the dense network at the layout's widths. */
  public static Chain staticNet(FluidLayout layout) {
    return new Chain()
        .add(ConvBn.dense(layout.conv1(), 3, 1, Act.RELU))
        .add(new MaxPool(2))
        .add(ConvBn.dense(layout.conv2(), 3, 1, Act.RELU))
        .add(new MaxPool(2))
        .add(ConvBn.dense(layout.conv3(), 3, 1, Act.RELU))
        .add(new GlobalPool())
        .add(new Dense(layout.classes()));
  }

  /** Trains every unit not yet finished under {@code outDir}, then exports every trained model. */
  public static void run(FashionData data, Settings settings, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    Path checkpoints = outDir.resolve(CHECKPOINTS);
    Files.createDirectories(checkpoints);
    TrainingPlan.Progress progress = TrainingPlan.read(checkpoints);
    for (Unit unit : TrainingPlan.units(settings.groups(), settings.baselines())) {
      Finished done = progress.finished().get(unit.name());
      if (done != null && Files.isRegularFile(TrainingPlan.checkpoint(checkpoints, unit))) {
        if (done.config().epochs() != config.epochs() || done.trainImages() != data.train().data().count()) {
          throw new IllegalArgumentException(String.format(
              "%s was trained for %d epochs on %d images, this run asks for %d on %d; use another --out or delete %s",
              unit.name(), done.config().epochs(), done.trainImages(), config.epochs(), data.train().data().count(),
              checkpoints));
        }
        log.accept(unit.name() + ": finished earlier (" + TrainingPlan.checkpoint(checkpoints, unit) + "), skipped");
        continue;
      }
      Finished finished = trainWithRetries(unit, data, config, checkpoints, log);
      progress.finished().put(unit.name(), finished);
      TrainingPlan.write(checkpoints, progress);
    }
    for (int g : settings.groups()) {
      Path dir = outDir.resolve(exportDir(g));
      log.accept("fluid g" + g + ": exporting to " + dir);
      FluidExport.run(data, checkpoints, g, dir, log);
    }
  }

  /** Where the models for G groups go under the output directory: {@code g<G>}. */
  public static String exportDir(int groups) {
    return "g" + groups;
  }

  /** The design every Fluid network of this recipe is trained and exported with. */
  static final FluidNet.Design DESIGN = FluidNet.Design.OWN_LAYER3;

  /** Attempts per unit: a diverged attempt starts the unit again from its first step. */
  static final int ATTEMPTS = 3;

  /**
   * Trains {@code unit}, starting it again when it ends as diverged ({@link
   * dev.shoal.train.train.StepGuard} goes back on single NaN steps). On this project's AMD EPYC VMs
   * PyTorch's AVX-512 kernels gave NaN losses now and then, even before the first update, and the
   * same unit then trained when started again; ./shoal sets ATEN_CPU_CAPABILITY=avx2, which made it
   * rarer, not gone (docs/fluid.md, "PyTorch on this machine").
   */
  private static Finished trainWithRetries(
      Unit unit, FashionData data, TrainConfig config, Path checkpoints, Consumer<String> log) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return train(unit, data, config, checkpoints, log);
      } catch (IllegalStateException e) {
        if (attempt == ATTEMPTS || !e.getMessage().startsWith("training diverged")) {
          throw e;
        }
        log.accept(unit.name() + ": attempt " + attempt + " of " + ATTEMPTS + " failed (" + e.getMessage()
            + "); starting the unit again");
      }
    }
  }

  private static Finished train(Unit unit, FashionData data, TrainConfig config, Path checkpoints, Consumer<String> log)
      throws IOException {
    FluidLayout layout = FluidLayout.standard(data.rows(), data.cols(), data.numClasses(), 1);
    Shape sample = new Shape(1, data.rows(), data.cols());
    int count = data.train().data().count();
    long start = System.nanoTime();
    TrainConfig unitConfig = config;
    Block net;
    Objective objective;
    List<String> outputs;
    if (unit instanceof StaticUnit) {
      net = staticNet(layout);
      objective = new Objective.Single();
      outputs = List.of("static");
    } else if (unit instanceof DynamicUnit) {
      net = new SlimmableNet(layout, DYNAMIC_WIDTHS, config.seed());
      objective = new Objective.EachOutput();
      outputs = DYNAMIC_WIDTHS.stream().map(w -> "dynamic-" + w.label()).toList();
    } else {
      FluidPhase f = (FluidPhase) unit;
      net = new FluidNet(layout.withGroups(f.groups()), DESIGN);
      objective = new Objective.EachOutput();
      outputs = f.phase() == 1
          ? List.of("sub1")
          : List.of("sub" + f.phase(), "combined-1to" + f.phase(), "pooled-1to" + f.phase());
      // each phase its own shuffle and augmentation stream, reproducibly
      unitConfig = new TrainConfig(config.epochs(), config.batchSize(), config.learningRate(), config.momentum(),
          config.weightDecay(), config.labelSmoothing(), config.augmentation(), config.seed() + f.phase() - 1);
    }
    try (TrainingSession session = new TrainingSession(net, objective, unitConfig, sample, count)) {
      if (unit instanceof FluidPhase f) {
        FluidNet fluid = (FluidNet) net;
        if (f.phase() > 1) {
          Path previous = TrainingPlan.checkpoint(checkpoints, new FluidPhase(f.groups(), f.phase() - 1));
          Weights.load(fluid, previous, fluid.trainedParameterNames(f.phase()));
          if (f.phase() == f.groups()) {
            fluid.startFullMode();
          }
          log.accept(unit.name() + ": resumed from " + previous);
        }
        fluid.setPhase(f.phase());
        log.accept(String.format("%s: training sub-network %d of %d (%d parameters), earlier ones frozen",
            unit.name(), f.phase(), f.groups(), fluid.trainableParameters(f.phase())));
      } else {
        log.accept(unit.name() + ": " + session.parameterCount() + " parameters");
      }
      var epochs = session.fit(data.train(), Optional.empty(), Progress.epochs(unit.name(), unitConfig, log));
      Weights.save(net, TrainingPlan.checkpoint(checkpoints, unit));
      List<float[]> predicted = session.predict(data.test());
      Map<String, Double> accuracy = new LinkedHashMap<>();
      for (int i = 0; i < outputs.size(); i++) {
        accuracy.put(outputs.get(i), Accuracy.of(predicted.get(i), data.test().data()));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      log.accept(String.format("%s: done in %.0f s; test accuracy (DJL) %s", unit.name(), seconds, accuracy));
      return new Finished(unit.name(), unitConfig, count, epochs, seconds, accuracy);
    }
  }
}
