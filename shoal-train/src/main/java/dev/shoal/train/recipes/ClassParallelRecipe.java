package dev.shoal.train.recipes;

import ai.djl.ndarray.types.Shape;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.models.MobileNetV2Style;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ParallelNets;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Class parallelism, the baseline: {@code n} sub-models, each owning a contiguous block of
 * classes and outputting only their logits. Trained together under one softmax over the
 * concatenated logits (so their scales agree when the gateway concatenates them); each exported as
 * its own ONNX, plus {@code class-parallel.json} and {@code training.json}.
 *
 * <p>Each sub-model is a MobileNetV2 backbone at width 0.35 at full resolution with a 128-wide head
 * (36 k parameters, 2.5 M MACs), the size of the first variant family's largest member; the current
 * family's members (width 0.4) are about a quarter larger, which docs/training.md states next to
 * the comparison.
 */
public final class ClassParallelRecipe {

  public static final int HEAD_WIDTH = 128;
  public static final double WIDTH = 0.35;

  private ClassParallelRecipe() {}

  /** Classes 0..numClasses-1 split into {@code n} contiguous groups, sizes differing by at most one. */
  public static List<List<Integer>> split(int numClasses, int n) {
    if (n < 1 || n > numClasses) {
      throw new IllegalArgumentException("sub-model count must be in [1, " + numClasses + "], got " + n);
    }
    List<List<Integer>> groups = new ArrayList<>();
    int next = 0;
    for (int g = 0; g < n; g++) {
      int size = numClasses / n + (g < numClasses % n ? 1 : 0);
      List<Integer> group = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        group.add(next++);
      }
      groups.add(group);
    }
    return groups;
  }

  public static TrainingReport run(
      FashionData data, int subModels, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    List<List<Integer>> groups = split(data.numClasses(), subModels);
    List<Chain> members = new ArrayList<>();
    for (List<Integer> g : groups) {
      members.add(MobileNetV2Style.variant(data.rows(), data.rows(), WIDTH, HEAD_WIDTH, g.size()));
    }
    ParallelNets net = new ParallelNets(members, true, ParallelNets.Feed.SAME_VIEW);
    Shape sample = new Shape(1, data.rows(), data.cols());
    try (TrainingSession session =
        new TrainingSession(net, new Objective.Single(), config, sample, data.train().data().count())) {
      var epochs = session.fit(data.train(), Optional.empty(), Progress.epochs("class-parallel", config, log));
      List<ClassParallelManifest.Member> entries = new ArrayList<>();
      int count = data.test().data().count();
      float[] logits = new float[count * data.numClasses()];
      for (int m = 0; m < members.size(); m++) {
        String name = "cp" + m;
        Chain member = members.get(m);
        List<Integer> classes = groups.get(m);
        Path file = outDir.resolve(name + ".onnx");
        OnnxModelIO.write(OnnxModels.logits(name, member, data.rows(), data.cols(), classes.size()), file);
        float[] own = OnnxEvaluator.run(file, data.test(), 500, 1).get(OnnxModels.LOGITS).floats();
        for (int i = 0; i < count; i++) {
          for (int j = 0; j < classes.size(); j++) {
            logits[i * data.numClasses() + classes.get(j)] = own[i * classes.size() + j];
          }
        }
        long params = TrainingSession.parameterCount(member);
        long macs = member.macs(new Shape(1).addAll(sample));
        log.accept(name + ": classes " + classes + ", " + params + " parameters, " + macs + " MACs");
        entries.add(new ClassParallelManifest.Member(name, file.getFileName().toString(), classes, params, macs, OnnxModels.LOGITS));
      }
      double accuracy = Accuracy.of(logits, data.test().data());
      log.accept(String.format("class-parallel (%d sub-models): test accuracy %.4f", subModels, accuracy));
      new ClassParallelManifest(
              ClassParallelManifest.FORMAT_VERSION, "fashion-mnist-class-parallel", data.numClasses(), data.modelInput(), entries)
          .write(outDir.resolve(ClassParallelManifest.FILE_NAME));
      TrainingReport report =
          TrainingReport.of("class-parallel", config, data, epochs, Map.of("class-parallel", accuracy));
      report.write(outDir);
      return report;
    }
  }
}
