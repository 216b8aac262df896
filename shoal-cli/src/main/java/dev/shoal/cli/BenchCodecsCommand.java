package dev.shoal.cli;

import dev.shoal.bench.codecs.CodecBench;
import dev.shoal.model.io.OnnxModelIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench codecs}: {@code shoal policy}'s codec choice on CNNs of different shapes, and codec speed. */
@Command(
    name = "codecs",
    mixinStandardHelpOptions = true,
    description = {"Codec choice for imported models: `shoal policy` (K balanced stages, every codec at every",
        "cut) on the trained MobileNetV2-style base (depthwise + residual), the trained demo CNN (plain",
        "conv + pooling) and the trained DenseNet-style CNN (dense concatenations; `shoal train densenet`),",
        "with the first Fashion-MNIST test images. Bytes per cut per codec, chosen codecs,",
        "top-1 agreement; target >= 5x fewer bytes than fp32 at >= 0.99 agreement. Then every codec's",
        "encode/decode MB/s on a ReLU-like tensor (timed loop). Writes CSV and JSON to --out."})
public final class BenchCodecsCommand implements Callable<Integer> {

  @Option(names = "--base", defaultValue = "models/fashion/base/base.onnx", converter = InstalledPath.class,
      description = "the trained MobileNetV2-style base (default: ${DEFAULT-VALUE})")
  Path base;

  @Option(names = "--demo", defaultValue = "shoal-bench/src/main/resources/dev/shoal/bench/demo/fashion-classifier.onnx",
      converter = InstalledPath.class,
      description = "the trained demo CNN (default: ${DEFAULT-VALUE})")
  Path demo;

  @Option(names = "--densenet", defaultValue = "models/fashion/densenet/densenet.onnx", converter = InstalledPath.class,
      description = "the trained DenseNet-style CNN (default: ${DEFAULT-VALUE})")
  Path denseNet;

  @Option(names = "--data", defaultValue = "/usr/share/datasets/fashion-mnist",
      description = "directory with the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE})")
  Path data;

  @Option(names = "--inputs", defaultValue = "1000", description = "test images to use (default: ${DEFAULT-VALUE})")
  int inputs;

  @Option(names = "--stages", defaultValue = "3", description = "stages per model (default: ${DEFAULT-VALUE})")
  int stages;

  @Option(names = "--max-agreement-drop", defaultValue = "0.01",
      description = "top-1 agreement drop allowed, in [0, 1] (default: ${DEFAULT-VALUE})")
  double maxAgreementDrop;

  @Option(names = "--speed-ms", defaultValue = "300",
      description = "milliseconds each codec's encode and decode are timed (default: ${DEFAULT-VALUE})")
  int speedMillis;

  @Option(names = "--out", defaultValue = "bench-results/codecs", description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (inputs < 1 || stages < 2 || speedMillis < 1 || !(maxAgreementDrop >= 0 && maxAgreementDrop <= 1)) {
      throw new IllegalArgumentException("need --inputs >= 1, --stages >= 2, --speed-ms >= 1 and "
          + "--max-agreement-drop in [0, 1]");
    }
    for (Path p : List.of(base, demo, denseNet)) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(
            "no model file " + p + " (run from the repository root, or pass --base/--demo/--densenet)");
      }
    }
    List<CodecBench.Model> models = new ArrayList<>();
    models.add(new CodecBench.Model("base", "MobileNetV2-style: depthwise + residual (trained)", OnnxModelIO.read(base), 1));
    models.add(new CodecBench.Model("demo", "plain conv + max pool (trained)", OnnxModelIO.read(demo), 1));
    models.add(new CodecBench.Model("densenet", "DenseNet-style: dense concatenations (trained)",
        OnnxModelIO.read(denseNet), 1));
    CodecBench.run(new CodecBench.Config(models, data, inputs, stages, maxAgreementDrop, speedMillis), out, System.out);
    return 0;
  }
}
