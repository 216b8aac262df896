package dev.shoal.cli;

import dev.shoal.bench.separable.WidthParallelBench;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench widthpar}: a separable network served width-parallel on real workers. */
@Command(
    name = "widthpar",
    mixinStandardHelpOptions = true,
    description = {"Width parallelism served on G real worker processes (issue 14): the searched policy, the",
        "baseline exchanging at every block, and a G-stage pipeline of the non-separable network, on loopback",
        "and on links shaped with tc tbf in network namespaces (needs root). Throughput, p50/p99 latency and",
        "bytes the workers send per inference. Reads what `shoal search-policy` wrote under --search."})
public final class BenchWidthParallelCommand implements Callable<Integer> {

  @Option(names = "--search", required = true, description = "a `shoal search-policy` output directory")
  Path search;

  @Option(
      names = "--searched",
      description = "the row of the search's policy-results.json served as the searched plan, e.g. a policy "
          + "trained alone by `shoal train separable --policy` (default: ${DEFAULT-VALUE})")
  String searched = "searched";

  @Option(
      names = "--baseline",
      description = "the row served as the every-block baseline plan (default: ${DEFAULT-VALUE})")
  String baseline = "baseline";

  @Option(names = "--rate", split = ",", description = "tbf rates in Mbit/s besides loopback (default: ${DEFAULT-VALUE})")
  List<Integer> rates = List.of(20);

  @Option(names = "--requests", description = "requests per measurement (default: ${DEFAULT-VALUE})")
  int requests = 300;

  @Option(names = "--window", description = "requests in flight (default: ${DEFAULT-VALUE})")
  int window = 4;

  @Option(names = "--out", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out = Path.of("bench-results/widthpar");

  @Override
  public Integer call() throws Exception {
    if (requests < 20 || window < 1) {
      throw new IllegalArgumentException("--requests must be >= 20 and --window >= 1");
    }
    WidthParallelBench.run(search, searched, baseline, rates, requests, window, out, System.out);
    return 0;
  }
}
