package dev.shoal.cli;

import dev.shoal.bench.availability.AvailabilityBench;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal bench availability}: VP vs CP vs pipeline MP with 0, 1, 2 workers killed. */
@Command(
    name = "availability",
    mixinStandardHelpOptions = true,
    description = {
      "Availability under failures (issue 4), on real worker processes: variant parallelism (one",
      "variant per worker), class parallelism (one sub-model per worker) and pipeline model",
      "parallelism of the base model (with and without re-planning) serve Fashion-MNIST test images",
      "through the gateway with 0, 1 and 2 workers SIGKILLed: accuracy, failed and degraded answers.",
      "Reads base/, variants/ and class-parallel/ under --models; writes CSV and JSON to --out."
    })
public final class BenchAvailabilityCommand implements Callable<Integer> {

  @Mixin FashionModelSets inputs;

  @Option(names = "--images", defaultValue = "1000",
      description = "test images per experiment (default: ${DEFAULT-VALUE})")
  int images;

  @Option(names = "--deadline-ms", defaultValue = "500",
      description = "ensembles answer from the members that arrived by then (default: ${DEFAULT-VALUE})")
  long deadlineMs;

  @Option(names = "--slowdown", defaultValue = "1",
      description = "every worker emulates a device K times slower than this host: it holds each frame K x "
          + "its compute (default: ${DEFAULT-VALUE})")
  double slowdown;

  @Option(names = "--out", defaultValue = "bench-results/availability",
      description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (images < 1 || deadlineMs < 1 || !(slowdown >= 1)) {
      throw new IllegalArgumentException("--images, --deadline-ms and --slowdown must be >= 1");
    }
    AvailabilityBench.run(new AvailabilityBench.Config(inputs.models, inputs.data, images,
        Duration.ofMillis(deadlineMs), slowdown), out, System.out);
    return 0;
  }
}
