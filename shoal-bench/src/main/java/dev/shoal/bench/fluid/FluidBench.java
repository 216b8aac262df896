package dev.shoal.bench.fluid;

import dev.shoal.bench.ResultTable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code shoal bench fluid}: runs the chosen sections in order, each writing its table under the
 * results directory.
 */
public final class FluidBench {

  /**
   * {@code models}: a directory with one {@code g<G>/fluid.json} per group count (what {@code shoal
   * train fluid} writes, committed under models/fashion/fluid); {@code groups}: which of them;
   * {@code data}: the MNIST-format directory with the test set.
   */
  public record Config(Path models, List<Integer> groups, Path data, Serving serving) {
    public Config {
      groups = List.copyOf(groups);
    }

    public Config(Path models, List<Integer> groups, Path data) {
      this(models, groups, data, Serving.DEFAULT);
    }
  }

  /**
   * The serving sections' settings: the emulated devices' speed (MACs per second), how many
   * requests each run keeps in flight, and how long each measured run lasts (the failure runs last
   * twice that, the auto ramp 4.5 times).
   */
  public record Serving(double deviceMacsPerSecond, int window, double seconds) {
    public static final Serving DEFAULT = new Serving(10e6, 8, 10);

    public Serving {
      if (!(deviceMacsPerSecond > 0) || window < 1 || !(seconds >= 2)) {
        throw new IllegalArgumentException("device speed must be > 0, window >= 1 and seconds >= 2, got "
            + deviceMacsPerSecond + ", " + window + ", " + seconds);
      }
    }
  }

  /** Every section, by name, in the order they run. */
  public static final Map<String, FluidBenchSection> SECTIONS = sections(new FluidAccuracySection(),
      new FluidThroughputSection(), new FluidFailureSection(), new FluidAutoSection());

  private FluidBench() {}

  private static Map<String, FluidBenchSection> sections(FluidBenchSection... all) {
    Map<String, FluidBenchSection> byName = new LinkedHashMap<>();
    for (FluidBenchSection s : all) {
      byName.put(s.name(), s);
    }
    return byName;
  }

  public static void run(Config config, List<String> sections, Path out, PrintStream progress) throws IOException {
    for (String name : sections) {
      FluidBenchSection section = SECTIONS.get(name);
      if (section == null) {
        throw new IllegalArgumentException("unknown section '" + name + "', expected one of " + SECTIONS.keySet());
      }
    }
    for (String name : sections) {
      ResultTable table = SECTIONS.get(name).run(config, out, progress);
      table.writeCsv(out.resolve(name + ".csv"));
      table.writeJson(out.resolve(name + ".json"));
      progress.println("bench fluid: " + name + " results in " + out.resolve(name + ".csv") + " and .json");
    }
  }
}
