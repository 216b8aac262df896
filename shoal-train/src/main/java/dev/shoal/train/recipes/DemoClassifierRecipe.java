package dev.shoal.train.recipes;

import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.io.Npy;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.models.DemoCnn;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Trains the product demo's classifier ({@link DemoCnn}) and writes what {@code shoal demo} bundles:
 * {@code fashion-classifier.onnx} (input "input" [N,1,28,28] normalised, output "logits" [N,10]),
 * {@code fashion-test-images.npy} (the first test images, normalised exactly as the model expects),
 * {@code fashion-test-labels.npy} (int64) and {@code demo-report.json}.
 */
public final class DemoClassifierRecipe {

  public static final String MODEL_FILE = "fashion-classifier.onnx";
  public static final String IMAGES_FILE = "fashion-test-images.npy";
  public static final String LABELS_FILE = "fashion-test-labels.npy";
  public static final String REPORT_FILE = "demo-report.json";

  /** What the run measured. */
  public record Report(
      String model,
      int epochs,
      int trainImages,
      int testImages,
      double testAccuracyDjl,
      double testAccuracyOnnx,
      long parameters,
      long macs,
      double secondsPerEpoch,
      String normalisation,
      long seed) {}

  private DemoClassifierRecipe() {}

  public static Report run(FashionData data, TrainConfig config, int sampleCount, Path outDir, Consumer<String> log)
      throws IOException {
    Shape sample = new Shape(1, data.rows(), data.cols());
    Chain net = DemoCnn.build(data.numClasses());
    Files.createDirectories(outDir);
    try (TrainingSession session =
        new TrainingSession(net, new Objective.Single(), config, sample, data.train().data().count())) {
      var epochs = session.fit(data.train(), Optional.empty(), Progress.epochs("demo", config, log));
      double djlAccuracy = Accuracy.of(session.predict(data.test()).get(0), data.test().data());
      Path modelFile = outDir.resolve(MODEL_FILE);
      OnnxModelIO.write(
          OnnxModels.logits("fashion_classifier", net, data.rows(), data.cols(), data.numClasses()), modelFile);
      TensorData logits = OnnxEvaluator.run(modelFile, data.test(), 500, 1).get(OnnxModels.LOGITS);
      double onnxAccuracy = Accuracy.of(logits.floats(), data.test().data());
      log.accept(String.format("test accuracy: DJL %.4f, exported ONNX %.4f", djlAccuracy, onnxAccuracy));
      writeSamples(data.test(), sampleCount, outDir);
      Report report =
          new Report(
              MODEL_FILE,
              config.epochs(),
              data.train().data().count(),
              data.test().data().count(),
              djlAccuracy,
              onnxAccuracy,
              session.parameterCount(),
              net.macs(new Shape(1).addAll(sample)),
              epochs.stream().mapToDouble(TrainingSession.EpochReport::seconds).average().orElse(0),
              data.train().normalisation().formula(),
              config.seed());
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .writeValue(outDir.resolve(REPORT_FILE).toFile(), report);
      return report;
    }
  }

  /** The first {@code n} test images, normalised, and their labels as .npy files. */
  static void writeSamples(BatchMaker test, int n, Path outDir) throws IOException {
    LabelledImages data = test.data();
    int m = Math.min(n, data.count());
    int[] order = test.sequentialOrder();
    float[] pixels = test.images(order, 0, m, Augmentation.NONE, null);
    Npy.write(
        TensorData.ofFloats("images", new long[] {m, 1, data.rows(), data.cols()}, pixels),
        outDir.resolve(IMAGES_FILE));
    ByteBuffer labels = ByteBuffer.allocate(m * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < m; i++) {
      labels.putLong(data.label(i));
    }
    Npy.write(new TensorData("labels", DType.INT64, new long[] {m}, labels.array()), outDir.resolve(LABELS_FILE));
  }
}
