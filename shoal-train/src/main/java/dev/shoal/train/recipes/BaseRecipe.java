package dev.shoal.train.recipes;

import ai.djl.ndarray.types.Shape;
import dev.shoal.model.TensorData;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.models.DenseNetStyle;
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
 * Trains one classifier on its own and writes its ONNX file (output "logits") and
 * {@code training.json} into the output directory: the MobileNetV2-style base ({@code base.onnx}),
 * or the DenseNet-style CNN ({@code densenet.onnx}), the dense-concatenation shape among the
 * trained CNNs `shoal bench codecs` chooses codecs for.
 */
public final class BaseRecipe {

  public static final String MODEL_FILE = "base.onnx";
  public static final String DENSENET_FILE = "densenet.onnx";

  private BaseRecipe() {}

  /** The MobileNetV2-style base. */
  public static TrainingReport run(FashionData data, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    return train("base", MobileNetV2Style.base(data.numClasses()), MODEL_FILE, data, config, outDir, log);
  }

  /** The DenseNet-style CNN ({@link DenseNetStyle}). */
  public static TrainingReport denseNet(FashionData data, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    return train("densenet", DenseNetStyle.build(data.numClasses()), DENSENET_FILE, data, config, outDir, log);
  }

  private static TrainingReport train(String name, Chain net, String fileName, FashionData data, TrainConfig config,
      Path outDir, Consumer<String> log) throws IOException {
    Shape sample = new Shape(1, data.rows(), data.cols());
    try (TrainingSession session =
        new TrainingSession(net, new Objective.Single(), config, sample, data.train().data().count())) {
      log.accept(
          name + ": " + session.parameterCount() + " parameters, " + net.macs(new Shape(1).addAll(sample))
              + " MACs per image");
      var epochs = session.fit(data.train(), Optional.empty(), Progress.epochs(name, config, log));
      Path file = outDir.resolve(fileName);
      OnnxModelIO.write(OnnxModels.logits(name, net, data.rows(), data.cols(), data.numClasses()), file);
      TensorData logits = OnnxEvaluator.run(file, data.test(), 500, 1).get(OnnxModels.LOGITS);
      double accuracy = Accuracy.of(logits.floats(), data.test().data());
      log.accept(String.format("%s: test accuracy %.4f (exported ONNX)", name, accuracy));
      TrainingReport report = TrainingReport.of(name, config, data, epochs, Map.of(name, accuracy));
      report.write(outDir);
      return report;
    }
  }
}
