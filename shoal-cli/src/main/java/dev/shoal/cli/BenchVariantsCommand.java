package dev.shoal.cli;

import dev.shoal.bench.variants.VariantAccuracyBench;
import dev.shoal.train.train.DjlSetup;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench variants}: variant parallelism vs the base and class parallelism. */
@Command(
    name = "variants",
    mixinStandardHelpOptions = true,
    description = {"Variant parallelism (training/accuracy half): base, each variant, every ensemble of",
        "2-4 variants and class parallelism on the full Fashion-MNIST test set — accuracy, parameters,",
        "MACs, batch-1 ONNX Runtime response time, bytes returned per inference; training time per",
        "epoch; the paper's targets checked. --retrain trains everything from scratch first.",
        "Writes CSV and JSON to --out."})
public final class BenchVariantsCommand implements Callable<Integer> {

  @Option(names = "--models", defaultValue = "models/fashion",
      description = "directory with base/, variants/, class-parallel/ (default: ${DEFAULT-VALUE})")
  Path models;

  @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
      description = "MNIST-format IDX directory (default: ${DEFAULT-VALUE})")
  Path data;

  @Option(names = "--retrain", description = "train base, variants and class-parallel from scratch into --models first")
  boolean retrain;

  @Option(names = "--epochs", defaultValue = "2", description = "with --retrain: epochs (default: ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--train-limit", defaultValue = "2147483647",
      description = "with --retrain: train on the first N training images (default: all)")
  int trainLimit;

  @Option(names = "--threads", defaultValue = "1", description = "with --retrain: PyTorch threads (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--warmup", defaultValue = "20", description = "warm-up runs per model (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--rounds", defaultValue = "200", description = "timed rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--out", defaultValue = "bench-results/variants", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || warmup < 0 || epochs < 1) {
      throw new IllegalArgumentException("--rounds and --epochs must be >= 1 and --warmup >= 0");
    }
    DjlSetup.configure(threads);
    VariantAccuracyBench.run(
        new VariantAccuracyBench.Config(models, data, retrain, epochs, trainLimit, warmup, rounds), out, System.out);
    return 0;
  }
}
