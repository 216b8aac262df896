package dev.shoal.cli;

import dev.shoal.bench.availability.ResponseTimeBench;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal bench response-time}: served batch-1 response time, variant ensemble vs base. */
@Command(
    name = "response-time",
    mixinStandardHelpOptions = true,
    description = {
      "Served batch-1 response time (issue 4): the variant ensemble, one variant per worker process,",
      "fused at the gateway, against the base model alone on a worker of its own; through the REST API",
      "and straight into the runtime, swept over the workers' emulated device speed. Writes CSV, JSON",
      "and an SVG curve (speed-up against device slowdown) to --out."
    })
public final class BenchResponseTimeCommand implements Callable<Integer> {

  @Mixin FashionModelSets inputs;

  @Option(names = "--slowdowns", split = ",", defaultValue = "1,2,5,10,20",
      description = "emulated device speeds to sweep: each worker holds a frame K x its model's run on this "
          + "host (1 = this host; default: ${DEFAULT-VALUE})")
  List<Double> slowdowns;

  @Option(names = "--deadline-ms", defaultValue = "500",
      description = "the ensemble answers from the variants that arrived by then (default: ${DEFAULT-VALUE})")
  long deadlineMs;

  @Option(names = "--warmup", defaultValue = "2000",
      description = "warm-up rounds per slowdown, untimed, so that the fresh worker and gateway JVMs have compiled "
          + "their request paths (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--rounds", defaultValue = "300",
      description = "timed requests per model, path and slowdown (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--out", defaultValue = "bench-results/response-time",
      description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || warmup < 0 || deadlineMs < 1 || slowdowns.stream().anyMatch(s -> !(s >= 1))) {
      throw new IllegalArgumentException("--rounds, --deadline-ms and every --slowdowns value must be >= 1, "
          + "--warmup >= 0");
    }
    ResponseTimeBench.run(new ResponseTimeBench.Config(inputs.models, inputs.data, slowdowns,
        Duration.ofMillis(deadlineMs), warmup, rounds), out, System.out);
    return 0;
  }
}
