package dev.shoal.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.bench.split.SplitOverheadBench;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench split}: cost of running a model as K chained stages on one machine. */
@Command(
    name = "split",
    mixinStandardHelpOptions = true,
    description = {"Split overhead: K balanced stages run back to back in one process vs the whole",
        "model (batch 1, interleaved rounds). Default model: MobileNetV2 224x224 from the model zoo",
        "(152 nodes). Target: <= 5%% overhead. Writes CSV, JSON and a plot to --out."})
public final class BenchSplitCommand implements Callable<Integer> {

  @Option(names = "--model", paramLabel = "MODEL.onnx", description = "model file to split instead of a zoo model")
  Path model;

  @Option(names = "--zoo", defaultValue = "mobilenetv2",
      description = "zoo model at 224x224, 1000 classes: mobilenetv2, resnet50, densenet121, inception (default: ${DEFAULT-VALUE})")
  String zoo;

  @Option(names = "--stages", split = ",", defaultValue = "2,4,8", description = "stage counts (default: ${DEFAULT-VALUE})")
  int[] stages;

  @Option(names = "--warmup", defaultValue = "10", description = "warm-up runs per variant (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--rounds", defaultValue = "100", description = "timed rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--threads", defaultValue = "1",
      description = "ONNX Runtime intra-op threads per session (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--out", defaultValue = "bench-results/split", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() {
    if (rounds < 1 || warmup < 0) {
      throw new IllegalArgumentException("--rounds must be >= 1 and --warmup >= 0");
    }
    ModelProto m = model != null ? OnnxModelIO.read(model) : ModelZoo.benchmarkModel(zoo);
    String name = model != null ? model.toString() : zoo + " 224x224 (zoo, random weights)";
    SplitOverheadBench.run(new SplitOverheadBench.Config(m, name, stages, warmup, rounds, threads), out, System.out);
    return 0;
  }
}
