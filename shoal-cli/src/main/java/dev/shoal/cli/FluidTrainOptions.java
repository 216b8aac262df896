package dev.shoal.cli;

import dev.shoal.train.fluid.FluidRecipe;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of {@code shoal train fluid} (its --groups is the shared option of TrainCommand). */
public final class FluidTrainOptions {

  @Option(
      names = "--no-baselines",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "fluid: --no-baselines trains the Fluid networks only, not the Static (dense) and Dynamic "
          + "(slimmable) baselines at the same widths (trained by default)")
  boolean baselines;

  FluidRecipe.Settings settings(List<Integer> groups) {
    return new FluidRecipe.Settings(groups, baselines);
  }
}
