package dev.shoal.cli;

import dev.shoal.bench.dataplane.DataplaneBench;
import dev.shoal.plan.graph.Batching;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench dataplane}: the runtime's data path against its floors, side by side. */
@Command(
    name = "dataplane",
    mixinStandardHelpOptions = true,
    description = {
      "The data path against its floors, in one run on loopback worker processes,",
      "requests over the KServe v2 REST API with binary tensors:",
      "(a) pipeline p50 vs the same stages chained in process;",
      "(b) CPU per request and throughput with requests in flight vs two in-process",
      "    sessions, then with dynamic batching;",
      "(c) one more hop vs gRPC and raw TCP ping-pongs (4 KB, 100 KB, 1 MB);",
      "(d) the variant ensemble's speed-up over the base vs its compute ceiling, at this host's",
      "    speed and on workers emulating devices --variant-slowdown times slower;",
      "(e) a replicated bottleneck stage vs the unreplicated plan;",
      "(f) plan switching under load: lost and duplicated answers;",
      "(g) the cluster idle: CPU of every process while nothing is asked (heartbeats, polls).",
      "(a), (b) and (d) also print a derived floor: the best the row can reach on this host",
      "    (read them from a quiet run). Prints each section and a table; writes CSV and JSON to --out."
    })
public final class BenchDataplaneCommand implements Callable<Integer> {

  @Option(names = "--out", defaultValue = "bench-results/dataplane", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--models", defaultValue = "models/fashion", converter = InstalledPath.class,
      description = "directory with base/base.onnx and variants/family.json (default: ${DEFAULT-VALUE})")
  Path models;

  @Option(names = "--resolution", defaultValue = "96", description = "input resolution of the ResNet-style model (default: ${DEFAULT-VALUE})")
  int resolution;

  @Option(names = "--width", defaultValue = "0.5", description = "channel width of the ResNet-style model (default: ${DEFAULT-VALUE})")
  double width;

  @Option(names = "--stages", defaultValue = "4", description = "pipeline stages, one worker each (default: ${DEFAULT-VALUE})")
  int stages;

  @Option(names = "--rounds", defaultValue = "200", description = "one-at-a-time requests per path (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--seconds", defaultValue = "8", description = "length of each concurrent-load run (default: ${DEFAULT-VALUE})")
  double seconds;

  @Option(names = "--in-flight", defaultValue = "8", description = "requests kept in flight (default: ${DEFAULT-VALUE})")
  int inFlight;

  @Option(names = "--transport-samples", defaultValue = "200", description = "round trips per size and path (default: ${DEFAULT-VALUE})")
  int transportSamples;

  @Option(names = "--max-batch", defaultValue = "8",
      description = "dynamic batching's max batch size in section (b); 1 skips the batched run (default: ${DEFAULT-VALUE})")
  int maxBatch;

  @Option(names = "--preferred-batch", split = ",", defaultValue = "4,8",
      description = "dynamic batching's preferred batch sizes (default: ${DEFAULT-VALUE})")
  List<Integer> preferredBatch;

  @Option(names = "--max-queue-delay-us", defaultValue = "2000",
      description = "dynamic batching's max queue delay in microseconds (default: ${DEFAULT-VALUE})")
  long maxQueueDelayMicros;

  @Option(names = "--slowdown", defaultValue = "4",
      description = "emulated device slowdown in the replicated-plan section (default: ${DEFAULT-VALUE})")
  double slowdown;

  @Option(names = "--variant-slowdown", defaultValue = "10",
      description = "section (d) again on workers emulating devices this many times slower than this host (set it"
          + " to your boards' measured ratio); 1 skips it (default: ${DEFAULT-VALUE})")
  double variantSlowdown;

  @Option(names = "--switches", defaultValue = "10", description = "plan switches under load (default: ${DEFAULT-VALUE})")
  int switches;

  @Option(names = "--warm-up-seconds", defaultValue = "20",
      description = "unmeasured load through the pipeline first, so that every JVM's JIT has compiled the data path"
          + " (default: ${DEFAULT-VALUE})")
  double warmUpSeconds;

  @Option(names = "--sections", defaultValue = DataplaneBench.ALL_SECTIONS,
      description = "the sections to run, by letter, e.g. 'ab' (default: all, ${DEFAULT-VALUE})")
  String sections;

  @Override
  public Integer call() throws Exception {
    if (stages < 2 || rounds < 10 || seconds < 1 || inFlight < 1 || transportSamples < 10 || switches < 1
        || slowdown < 1 || !(variantSlowdown >= 1) || warmUpSeconds < 0) {
      throw new IllegalArgumentException("--stages >= 2, --rounds >= 10, --seconds >= 1, --in-flight >= 1,"
          + " --transport-samples >= 10, --switches >= 1, --slowdown >= 1, --variant-slowdown >= 1,"
          + " --warm-up-seconds >= 0");
    }
    Batching batching = maxBatch > 1
        ? new Batching(maxBatch, preferredBatch.stream().filter(b -> b <= maxBatch).toList(), maxQueueDelayMicros)
        : null;
    DataplaneBench.run(new DataplaneBench.Config(out, models, resolution, width, stages, rounds, seconds, inFlight,
        transportSamples, batching, slowdown, variantSlowdown, switches, warmUpSeconds,
        sections.chars().mapToObj(c -> (char) c).collect(Collectors.toSet())), System.out);
    return 0;
  }
}
