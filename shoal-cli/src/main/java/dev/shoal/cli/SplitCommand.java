package dev.shoal.cli;

import dev.shoal.model.cost.CostModel;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.Stage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal split}: cut a model into chained, self-contained stage models. */
@Command(
    name = "split",
    mixinStandardHelpOptions = true,
    description = {"Cut a model into stages: DIR/stage-0.onnx ... and DIR/split.json.",
        "A tensor needed later is forwarded through the stages in between."})
public final class SplitCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "the model")
  Path model;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Where where;

  static final class Where {
    @Option(names = "--at", split = ",", paramLabel = "P",
        description = "cut after these positions (see `shoal profile`)")
    int[] at;

    @Option(names = "--stages", paramLabel = "K",
        description = "K stages balancing MACs while preferring small cuts")
    Integer stages;
  }

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "output directory (written aside, then moved into place)")
  Path out;

  @Option(names = "--allow-unknown-ops",
      description = "count ops without a cost rule as 0 MACs instead of failing")
  boolean allowUnknownOps;

  @Override
  public Integer call() {
    System.err.println("split: loading " + model + " ...");
    ModelProfile profile = ModelProfile.of(ModelGraph.load(model),
        allowUnknownOps ? CostModel.UnknownOps.COUNT_ZERO : CostModel.UnknownOps.REJECT);
    int[] cuts = where.at != null ? where.at : ModelSplitter.balancedCuts(profile, where.stages);
    Split split = ModelSplitter.split(profile, cuts);
    split.writeTo(out);
    System.out.println("cuts after positions " + Arrays.toString(cuts) + " -> " + out);
    System.out.printf(Locale.ROOT, "%5s %-14s %8s %14s %12s %12s  %s%n", "stage", "file", "nodes", "MACs",
        "paramBytes", "sendBytes", "sends");
    for (Stage s : split.stages()) {
      long send = s.outputs().stream().mapToLong(t -> profile.graph().tensor(t).sampleBytes()).sum();
      System.out.printf(Locale.ROOT, "%5d %-14s %8s %14d %12d %12d  %s%n", s.index(), s.fileName(),
          s.firstPosition() + ".." + s.lastPosition(), s.macs(), s.paramBytes(), send, s.outputs());
    }
    return 0;
  }
}
