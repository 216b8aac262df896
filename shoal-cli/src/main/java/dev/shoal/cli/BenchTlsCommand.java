package dev.shoal.cli;

import dev.shoal.bench.pipeline.TlsOverheadBench;
import dev.shoal.plan.solve.Solvers;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench tls}: what mutual TLS costs on the peer links, against plaintext links. */
@Command(
    name = "tls",
    mixinStandardHelpOptions = true,
    description = {
      "Mutual TLS 1.3 against plaintext peer links, side by side on loopback (plaintext is allowed there only):",
      "round trip of one tensor through 1- and 2-stage pipelines (4 KB, 100 KB, 1 MB), and MobileNetV2 pipeline",
      "throughput over 1..n workers without emulated slowdown. The modes alternate round after round."
    })
public final class BenchTlsCommand implements Callable<Integer> {

  @Option(names = "--out", defaultValue = "bench-results/tls", description = "output directory (default ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--workers", defaultValue = "3", description = "largest pipeline (default ${DEFAULT-VALUE})")
  int workers;

  @Option(names = "--rounds", defaultValue = "3", description = "rounds of each mode (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--requests", defaultValue = "300", description = "requests per throughput measurement (default ${DEFAULT-VALUE})")
  int requests;

  @Option(names = "--window", defaultValue = "16", description = "requests kept in flight (default ${DEFAULT-VALUE})")
  int window;

  @Option(names = "--transport-samples", defaultValue = "200", description = "round trips per size and path (default ${DEFAULT-VALUE})")
  int transportSamples;

  @Option(names = "--resolution", defaultValue = "96", description = "input resolution of the MobileNetV2 (default ${DEFAULT-VALUE})")
  int resolution;

  @Option(names = "--solver", defaultValue = "exact", description = "planner (default ${DEFAULT-VALUE})")
  String solver;

  @Override
  public Integer call() throws Exception {
    if (workers < 1 || rounds < 1 || requests < 10 || window < 1 || transportSamples < 10) {
      throw new IllegalArgumentException("--workers, --rounds, --window >= 1; --requests, --transport-samples >= 10");
    }
    TlsOverheadBench.run(new TlsOverheadBench.Options(out, Solvers.byName(solver, 1), workers, rounds, requests, window,
        transportSamples, resolution), System.out);
    return 0;
  }
}
