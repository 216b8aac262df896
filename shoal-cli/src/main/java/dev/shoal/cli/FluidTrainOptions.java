package dev.shoal.cli;

import dev.shoal.train.fluid.FluidRecipe;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of {@code shoal train fluid} (its --groups is the shared option of TrainCommand). */
public final class FluidTrainOptions {

  // a plain flag: as a negatable option with default true, picocli set --no-baselines to true
  @Option(
      names = "--no-baselines",
      description = "fluid: train the Fluid networks only, not the Static (dense) and Dynamic (slimmable) "
          + "baselines at the same widths (trained by default)")
  boolean noBaselines;

  FluidRecipe.Settings settings(List<Integer> groups) {
    return new FluidRecipe.Settings(groups, !noBaselines);
  }
}
