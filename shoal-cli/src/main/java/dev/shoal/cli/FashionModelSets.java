package dev.shoal.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The inputs of the variant-parallelism benches: the trained model sets and the Fashion-MNIST test set. */
final class FashionModelSets {

  @Option(names = "--models", defaultValue = "models/fashion", converter = InstalledPath.class,
      description = "directory with base/, variants/, class-parallel/ (default: ${DEFAULT-VALUE})")
  Path models;

  @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
      description = "MNIST-format IDX directory with the test set (default: ${DEFAULT-VALUE})")
  Path data;
}
