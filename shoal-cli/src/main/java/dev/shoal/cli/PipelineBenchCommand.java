package dev.shoal.cli;

import dev.shoal.bench.pipeline.PipelineBench;
import dev.shoal.plan.solve.Solvers;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench pipeline}: transport overhead, and measured vs predicted pipeline throughput. */
@Command(
    name = "pipeline",
    mixinStandardHelpOptions = true,
    description = {
      "Transport overhead per hop (4 KB, 100 KB, 1 MB tensors, p50/p99) against a plain gRPC echo, and measured",
      "pipeline throughput against the cost model's prediction for 1..n worker processes, on loopback and in",
      "network namespaces joined by veth pairs with tbf-limited links (needs root and iproute2).",
      "Workers emulate slower devices: worker i needs --device-ms[i] ms for the whole model, so it holds each frame",
      "for K_i = device-ms[i] / (this host's ms) x its stage's profiled compute on this host."
    })
public final class PipelineBenchCommand implements Callable<Integer> {

  @Option(names = "--out", defaultValue = "bench-results/pipeline", description = "output directory (default ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--device-ms", split = ",", defaultValue = "80,100,120,160",
      description = {"ms per inference of the whole model on each worker's emulated device; their count is the",
          "largest pipeline (default ${DEFAULT-VALUE})"})
  double[] deviceMs;

  @Option(names = "--rates", split = ",", defaultValue = "100,20",
      description = "tbf link rates in Mbit/s to measure in network namespaces; 0 for loopback only (default ${DEFAULT-VALUE})")
  int[] rates;

  @Option(names = "--requests", defaultValue = "100", description = "requests per measurement (default ${DEFAULT-VALUE})")
  int requests;

  @Option(names = "--window", defaultValue = "16", description = "requests kept in flight (default ${DEFAULT-VALUE})")
  int window;

  @Option(names = "--transport-samples", defaultValue = "200", description = "round trips per size and path (default ${DEFAULT-VALUE})")
  int transportSamples;

  @Option(names = "--resolution", defaultValue = "96", description = "input resolution of the MobileNetV2 used (default ${DEFAULT-VALUE})")
  int resolution;

  @Option(names = "--solver", defaultValue = "exact", description = "planner (default ${DEFAULT-VALUE})")
  String solver;

  @Override
  public Integer call() throws Exception {
    int[] netRates = java.util.Arrays.stream(rates).filter(r -> r > 0).toArray();
    PipelineBench.run(new PipelineBench.Options(out, Solvers.byName(solver, 1), deviceMs, netRates, requests, window,
        transportSamples, resolution), System.out);
    return 0;
  }
}
