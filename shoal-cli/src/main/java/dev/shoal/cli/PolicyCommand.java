package dev.shoal.cli;

import dev.shoal.model.TensorData;
import dev.shoal.model.cost.CostModel;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.Npy;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.codec.choice.CodecChooser;
import dev.shoal.runtime.codec.choice.CodecPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal policy}: cut a model as {@code shoal split --stages K} and choose each cut's codec. */
@Command(
    name = "policy",
    mixinStandardHelpOptions = true,
    description = {"Cut a model into K stages (as `shoal split --stages K`), try every codec at every cut on",
        "the given inputs, and write the split with each cut's codec (DIR/split.json) and DIR/policy.json:",
        "the fewest bytes whose top-1 agreement with the unsplit model stays >= 1 - P."})
public final class PolicyCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "the model (one input)")
  Path model;

  @Option(names = "--inputs", required = true, paramLabel = "X.npy", description = "sample inputs, one per row")
  Path inputs;

  @Option(names = "--labels", paramLabel = "Y.npy", description = "integer labels, one per input: adds accuracy")
  Path labels;

  @Option(names = "--stages", required = true, paramLabel = "K", description = "stages to cut the model into (>= 2)")
  int stages;

  @Option(names = "--max-agreement-drop", defaultValue = "0.01", paramLabel = "P",
      description = "share of inputs whose top-1 may differ from the unsplit model's, in [0, 1] (default: ${DEFAULT-VALUE})")
  double maxAgreementDrop;

  @Option(names = "--codecs", split = ",", paramLabel = "C",
      description = "codecs to try (default: every codec, alone and +lz4/+zstd)")
  List<String> codecs;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "split directory to write")
  Path out;

  @Option(names = "--allow-unknown-ops",
      description = "count ops without a cost rule as 0 MACs instead of failing")
  boolean allowUnknownOps;

  @Override
  public Integer call() throws IOException {
    if (!(maxAgreementDrop >= 0 && maxAgreementDrop <= 1)) {
      throw new IllegalArgumentException("--max-agreement-drop must be within [0, 1], got " + maxAgreementDrop);
    }
    if (stages < 2) {
      throw new IllegalArgumentException("--stages must be >= 2 (one stage has no cut), got " + stages);
    }
    List<TensorCodec> candidates = codecs == null ? TensorCodec.all()
        : codecs.stream().map(c -> {
          try {
            return TensorCodec.parse(c);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--codecs: " + e.getMessage(), e);
          }
        }).toList();
    TensorData x = readNpy("--inputs", inputs);
    TensorData y = labels == null ? null : readNpy("--labels", labels);
    System.err.println("policy: loading " + model + " ...");
    ModelProfile profile = ModelProfile.of(ModelGraph.load(model),
        allowUnknownOps ? CostModel.UnknownOps.COUNT_ZERO : CostModel.UnknownOps.REJECT);
    int[] cuts = ModelSplitter.balancedCuts(profile, stages);
    Split split = ModelSplitter.split(profile, cuts);
    System.err.println("policy: cuts after positions " + Arrays.toString(cuts) + "; " + x.shape()[0] + " inputs, "
        + candidates.size() + " codecs");
    CodecPolicy policy = CodecChooser.choose(profile.graph().model().toByteArray(), split, x, y,
        new CodecChooser.Options(maxAgreementDrop, 64, candidates), line -> System.err.println("policy: " + line));
    split.withCutCodecs(policy.cuts().stream().map(CodecPolicy.Cut::codec).toList()).writeTo(out);
    Files.writeString(out.resolve("policy.json"), policy.toJson());
    System.out.printf(Locale.ROOT, "%6s %-18s %12s %12s %8s%n", "after", "codec", "rawBytes", "encodedBytes", "ratio");
    for (CodecPolicy.Cut c : policy.cuts()) {
      System.out.printf(Locale.ROOT, "%6d %-18s %12d %12.0f %7.1fx%n", c.after(), c.codec(), c.rawBytes(),
          c.encodedBytes(), c.rawBytes() / c.encodedBytes());
    }
    System.out.printf(Locale.ROOT, "all cuts: %d -> %.0f bytes per inference (%.1fx), top-1 agreement %.4f%s -> %s%n",
        policy.rawBytes(), policy.encodedBytes(), policy.rawBytes() / policy.encodedBytes(), policy.agreement(),
        policy.accuracy() == null ? "" : String.format(Locale.ROOT, ", accuracy %.4f (unsplit %.4f)",
            policy.accuracy(), policy.baselineAccuracy()), out);
    return 0;
  }

  private static TensorData readNpy(String option, Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(option + ": no such file " + file);
    }
    return Npy.read(file);
  }
}
