package dev.shoal.cli;

import dev.shoal.train.fluid.FluidRecipe;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of {@code shoal train fluid}. */
public final class FluidTrainOptions {

  @Option(
      names = "--groups",
      split = ",",
      paramLabel = "G",
      description = "fluid: sub-networks (devices) of each Fluid network to train, e.g. 2,3 (default: 2,3)")
  List<Integer> groups = List.of(2, 3);

  @Option(
      names = "--no-baselines",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "fluid: --no-baselines trains the Fluid networks only, not the Static (dense) and Dynamic "
          + "(slimmable) baselines at the same widths (trained by default)")
  boolean baselines;

  FluidRecipe.Settings settings() {
    return new FluidRecipe.Settings(groups, baselines);
  }
}
