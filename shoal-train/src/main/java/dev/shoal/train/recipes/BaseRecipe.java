package dev.shoal.train.recipes;

import ai.djl.ndarray.types.Shape;
import dev.shoal.model.TensorData;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.models.MobileNetV2Style;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Trains the MobileNetV2-style base and writes {@code base.onnx} (output "logits") and
 * {@code training.json} into the output directory.
 */
public final class BaseRecipe {

  public static final String MODEL_FILE = "base.onnx";

  private BaseRecipe() {}

  public static TrainingReport run(FashionData data, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    Chain net = MobileNetV2Style.base(data.numClasses());
    Shape sample = new Shape(1, data.rows(), data.cols());
    try (TrainingSession session =
        new TrainingSession(net, new Objective.Single(), config, sample, data.train().data().count())) {
      log.accept(
          "base: " + session.parameterCount() + " parameters, " + net.macs(new Shape(1).addAll(sample))
              + " MACs per image");
      var epochs = session.fit(data.train(), Optional.empty(), Progress.epochs("base", config, log));
      Path file = outDir.resolve(MODEL_FILE);
      OnnxModelIO.write(OnnxModels.logits("base", net, data.rows(), data.cols(), data.numClasses()), file);
      TensorData logits = OnnxEvaluator.run(file, data.test(), 500, 1).get(OnnxModels.LOGITS);
      double accuracy = Accuracy.of(logits.floats(), data.test().data());
      log.accept(String.format("base: test accuracy %.4f (exported ONNX)", accuracy));
      TrainingReport report = TrainingReport.of("base", config, data, epochs, Map.of("base", accuracy));
      report.write(outDir);
      return report;
    }
  }
}
