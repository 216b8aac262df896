package dev.shoal.cli;

import dev.shoal.bench.separable.PolicyBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench policy}: separable networks under searched transmission policies. */
@Command(
    name = "policy",
    mixinStandardHelpOptions = true,
    description = {"Width-parallel separable networks (issue 14): the non-separable reference, the separable",
        "baseline exchanging at every block, the searched policy with fp32 links and with codecs — bytes per",
        "inference, reduction against the baseline and full-test-set accuracy, measured from the exported",
        "ONNX (per-device segments chained, codecs applied). Target: >= 90%% fewer bytes for <= 1 point of",
        "accuracy, against the same G's every-block baseline and, stricter, against the non-separable network",
        "(both columns). Reads what `shoal search-policy` wrote under --models."})
public final class BenchPolicyCommand implements Callable<Integer> {

  @Option(names = "--models", defaultValue = "models/fashion/separable", converter = InstalledPath.class,
      description = "search output, or a directory holding several (default: ${DEFAULT-VALUE})")
  Path models;

  @Option(names = "--data", description = "directory with the IDX files (default: ${DEFAULT-VALUE})")
  Path data = Path.of("/usr/share/datasets/fashion-mnist");

  @Option(names = "--out", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out = Path.of("bench-results/policy");

  @Override
  public Integer call() throws Exception {
    PolicyBench.run(models, data, out, System.out);
    return 0;
  }
}
