package dev.shoal.cli;

import dev.shoal.bench.variants.VariantAccuracyBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal bench variants}: variant parallelism vs the base and class parallelism. */
@Command(
    name = "variants",
    mixinStandardHelpOptions = true,
    description = {"Variant parallelism: the base, each variant, every ensemble of 2-4 variants (fused by",
        "summed top-k scores, as served) and class parallelism on the full Fashion-MNIST test set —",
        "accuracy, parameters, MACs, batch-1 ONNX Runtime response time (1 intra-op thread), values and",
        "bytes returned per inference, ratios against the base with the paper's targets marked, training",
        "time per epoch. Reads the models that `shoal train base|variants|class` wrote under --models",
        "(base/, variants/, class-parallel/). Writes CSV, JSON and a PNG plot to --out."})
public final class BenchVariantsCommand implements Callable<Integer> {

  @Mixin FashionModelSets inputs;

  @Option(names = "--warmup", defaultValue = "20", description = "warm-up runs per model (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--rounds", defaultValue = "200", description = "timed rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--out", defaultValue = "bench-results/variants", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || warmup < 0) {
      throw new IllegalArgumentException("--rounds must be >= 1 and --warmup >= 0, got " + rounds + " and " + warmup);
    }
    VariantAccuracyBench.run(new VariantAccuracyBench.Config(inputs.models, inputs.data, warmup, rounds), out, System.out);
    return 0;
  }
}
