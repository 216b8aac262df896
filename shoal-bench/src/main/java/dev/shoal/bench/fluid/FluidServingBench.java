package dev.shoal.bench.fluid;

import dev.shoal.model.family.FluidManifest;
import dev.shoal.runtime.fluid.AutoMode;
import dev.shoal.train.fluid.FluidRecipe;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** What the serving sections share: the emulated cluster of one G, the load driver, the host's load. */
final class FluidServingBench {

  private FluidServingBench() {}

  /** A started cluster for G groups, a driver for its network's input, and its scratch directory (certificates, logs). */
  record Setup(FluidCluster cluster, LoadDriver driver, Path work) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      cluster.close();
      try (Stream<Path> files = Files.walk(work)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }

  static Setup start(FluidBench.Config config, int g, String section, PrintStream progress) throws IOException {
    Path dir = config.models().resolve(FluidRecipe.exportDir(g));
    if (!Files.isRegularFile(dir.resolve(FluidManifest.FILE_NAME))) {
      throw new IOException(dir.resolve(FluidManifest.FILE_NAME) + " not found: train it with `shoal train fluid`");
    }
    FluidBench.Serving s = config.serving();
    Path work = Files.createTempDirectory("shoal-bench-fluid-" + section);
    progress.printf("bench fluid: %s, G=%d: starting %d workers emulating devices of %.0f MMAC/s ...%n", section, g, g,
        s.deviceMacsPerSecond() / 1e6);
    FluidCluster cluster = FluidCluster.start(dir, s.deviceMacsPerSecond(), AutoMode.Options.DEFAULT, work);
    try {
      return new Setup(cluster, LoadDriver.load(config.data(), cluster.manifest()), work);
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e;
    }
  }
}
