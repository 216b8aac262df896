package dev.shoal.cli;

import dev.shoal.train.separable.PolicySearchRecipe;
import dev.shoal.train.train.DjlSetup;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal search-policy}: transmission-policy search over a trained separable supernet. */
@Command(
    name = "search-policy",
    mixinStandardHelpOptions = true,
    description = {
      "Search the transmission policy of a separable network trained by `shoal train separable`:",
      "per exchange point, exchange or not, routing, channel fraction (1/8..1) and codec (fp32, fp16,",
      "int8, int4), scored by accuracy on the validation split (never the test set) against bytes per",
      "inference. Runs the guided search (evolution with Pareto selection) and random search at the same",
      "budget, plots their Pareto fronts, fine-tunes the most accurate policy within the byte limit (and",
      "it with fp32 links), exports them and the every-block baseline as per-device ONNX segments with",
      "separable.json, and measures them on the test set. Resumes: evaluations and fine-tunes are kept."
    })
public final class SearchPolicyCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, description = "directory written by `shoal train separable`")
  Path model;

  @Option(names = "--data", description = "directory with the IDX files (default: ${DEFAULT-VALUE})")
  Path data = Path.of("/usr/share/datasets/fashion-mnist");

  @Option(names = "--budget", description = "policy evaluations per search method (default: ${DEFAULT-VALUE})")
  int budget = 60;

  @Option(
      names = "--method",
      description = "evolution, random, or both (evolution's choice is fine-tuned) (default: ${DEFAULT-VALUE})")
  String method = "both";

  @Option(
      names = "--max-bytes-share",
      description = "byte limit of the chosen policy as a share of the baseline's (default: ${DEFAULT-VALUE}, i.e. "
          + ">= 90%% fewer bytes)")
  double maxBytesShare = 0.1;

  @Option(
      names = "--search-images",
      description = "validation images each candidate is scored on (default: ${DEFAULT-VALUE})")
  int searchImages = 1000;

  @Option(
      names = "--finalists",
      description = "best candidates re-scored on the whole validation split before choosing (default: ${DEFAULT-VALUE})")
  int finalists = 3;

  @Option(names = "--fine-tune-epochs", description = "epochs each measured policy is fine-tuned (default: ${DEFAULT-VALUE})")
  int fineTuneEpochs = 1;

  @Option(
      names = "--fine-tune-images",
      description = "fine-tune on the first N training images (default: all)")
  int fineTuneImages = Integer.MAX_VALUE;

  @Option(
      names = "--fine-tune-learning-rate",
      description = "peak learning rate of the fine-tuning (default: ${DEFAULT-VALUE})")
  float fineTuneLearningRate = 0.05f;

  @Option(names = "--seed", description = "seed of the searches and the fine-tuning (default: ${DEFAULT-VALUE})")
  long seed = 42;

  @Option(names = "--threads", description = "PyTorch intra-op threads (default: ${DEFAULT-VALUE})")
  int threads = 1;

  @Option(names = "--out", description = "output directory (default: <model>/search)")
  Path out;

  @Override
  public Integer call() throws Exception {
    List<String> methods =
        switch (method) {
          case "both" -> List.of("evolution", "random");
          case "evolution", "random" -> List.of(method);
          default -> throw new IllegalArgumentException("--method must be evolution, random or both, got '" + method + "'");
        };
    var settings =
        new PolicySearchRecipe.Settings(
            methods, budget, maxBytesShare, searchImages, finalists, fineTuneEpochs, fineTuneImages, fineTuneLearningRate,
            seed);
    DjlSetup.configure(threads);
    Path outDir = out != null ? out : model.resolve("search");
    var r = PolicySearchRecipe.run(model, data, settings, outDir, System.out::println);
    for (var m : r.measured()) {
      System.out.printf(
          "%-14s %8s bytes  %6s fewer  test accuracy %.4f%n", m.name(),
          m.policy() == null ? "-" : Long.toString(m.bytesPerInference()),
          m.policy() == null ? "-" : String.format("%.1f%%", 100 * m.reduction()), m.testAccuracy());
    }
    System.out.printf("search-policy: %.0f s -> %s (policy.json, pareto.svg, policies/, %s)%n", r.seconds(), outDir,
        PolicySearchRecipe.RESULTS);
    return 0;
  }
}
