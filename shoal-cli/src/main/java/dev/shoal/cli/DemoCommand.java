package dev.shoal.cli;

import dev.shoal.bench.demo.Demo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal demo}: the options of {@link Demo}, the whole system on one machine. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the bundled Fashion-MNIST classifier from a pipeline of local worker processes (each emulating a",
      "slower device), send the bundled test images through the HTTP API, then kill a worker mid-stream and",
      "show the recovery. Everything runs on this machine and is stopped at the end."
    })
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--device-ms", split = ",", defaultValue = "100,150,200,250",
      description = {"one worker per value: an emulated device that needs this many ms per image for the whole",
          "model; each worker is made K = ms / (this host's ms) times slower (default ${DEFAULT-VALUE})"})
  double[] deviceMs;

  @Option(names = "--images", defaultValue = "0", description = "images to send per phase (default: all bundled)")
  int images;

  @Option(names = "--concurrency", defaultValue = "16", description = "HTTP requests in flight (default ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--solver", defaultValue = "exact", description = "planner: exact, heuristic, greedy, random (default ${DEFAULT-VALUE})")
  String solver;

  @Option(names = "--no-failover", description = "skip the worker-kill phase")
  boolean noFailover;

  @Option(names = "--out", defaultValue = "bench-results/demo", description = "where demo.json goes (default ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    new Demo(new Demo.Options(deviceMs, images, concurrency, solver, !noFailover, out), System.out).run();
    return 0;
  }
}
