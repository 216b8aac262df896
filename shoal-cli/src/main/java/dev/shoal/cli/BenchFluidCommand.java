package dev.shoal.cli;

import dev.shoal.bench.fluid.FluidBench;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench fluid}: Fluid dynamic DNNs against Static and Dynamic. */
@Command(
    name = "fluid",
    mixinStandardHelpOptions = true,
    description = {"Fluid dynamic DNNs (nested sub-networks, one per device) against the Static (dense) and Dynamic",
        "(slimmable) baselines at the same widths, for each group count G. Section 'accuracy': on the full",
        "Fashion-MNIST test set with ONNX Runtime, each sub-network alone, every combined mode (its stages",
        "chained as the devices run them), Static and each Dynamic width k/G, with parameters, MACs, bytes",
        "crossing devices per image, the difference to Static paired image by image, and the paper's target",
        "(combined within 0.5 points of Static). Serving sections, with G real worker processes emulating",
        "devices of --device-mmacs (every model's compute = its MACs at that speed): 'throughput' (all up:",
        "Fluid high-throughput and high-accuracy, Static, Dynamic; paper: 2.5x Static, 2x Dynamic), 'failure'",
        "(one worker SIGKILLed half way: lost, refused, throughput and accuracy after), 'auto' (auto mode",
        "under a load ramp, first G only; plot auto.svg). Reads --models/g<G>/fluid.json (shoal train fluid",
        "writes them; committed under models/fashion/fluid). Writes <section>.csv and .json to --out."})
public final class BenchFluidCommand implements Callable<Integer> {

  @Option(names = "--models", defaultValue = "models/fashion/fluid", converter = InstalledPath.class,
      description = "directory with g<G>/fluid.json per group count (default: ${DEFAULT-VALUE})")
  Path models;

  @Option(names = "--groups", split = ",", defaultValue = "2,3", paramLabel = "G",
      description = "group counts to bench (default: ${DEFAULT-VALUE})")
  List<Integer> groups;

  @Option(names = "--section", split = ",", defaultValue = "accuracy,throughput,failure,auto",
      description = "sections to run, in order (default: ${DEFAULT-VALUE})")
  List<String> sections;

  @Option(names = "--device-mmacs", defaultValue = "10",
      description = "serving sections: speed of each emulated device, million MACs per second (default: ${DEFAULT-VALUE})")
  double deviceMmacs;

  @Option(names = "--window", defaultValue = "8",
      description = "serving sections: requests kept in flight (default: ${DEFAULT-VALUE})")
  int window;

  @Option(names = "--seconds", defaultValue = "10",
      description = "serving sections: seconds per measured run; failure runs last twice that, the auto ramp 4.5x "
          + "(default: ${DEFAULT-VALUE})")
  double seconds;

  @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
      description = "MNIST-format IDX directory with the test set (default: ${DEFAULT-VALUE})")
  Path data;

  @Option(names = "--out", defaultValue = "bench-results/fluid", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    FluidBench.run(new FluidBench.Config(models, groups, data,
        new FluidBench.Serving(deviceMmacs * 1e6, window, seconds)), sections, out, System.out);
    return 0;
  }
}
