package dev.shoal.train.recipes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.train.train.Objective.Distillation;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * {@code training.json}: how a model (family) was trained and what it scored on the full test set
 * ({@code testAccuracy}: member or ensemble name to top-1 accuracy, measured on the exported ONNX;
 * {@code teacher}: the model distilled from, null when none; {@code jointTraining}: how a variant
 * family's members were trained together, null for other models).
 */
public record TrainingReport(
    String kind,
    TrainConfig config,
    int trainImages,
    int testImages,
    List<EpochReport> epochs,
    double meanSecondsPerEpoch,
    Map<String, Double> testAccuracy,
    String teacher,
    Distillation distillation,
    JointTraining jointTraining) {

  /**
   * A variant family's joint training: the weight of the fused prediction's term in the loss, and
   * whether every variant saw its own augmented view of each image.
   */
  public record JointTraining(float fusedLossWeight, boolean augmentEachVariant) {}

  public static final String FILE_NAME = "training.json";

  public static TrainingReport of(
      String kind, TrainConfig config, FashionData data, List<EpochReport> epochs, Map<String, Double> accuracy) {
    return new TrainingReport(
        kind,
        config,
        data.train().data().count(),
        data.test().data().count(),
        epochs,
        epochs.stream().mapToDouble(EpochReport::seconds).average().orElse(0),
        accuracy,
        null,
        Distillation.NONE,
        null);
  }

  /** This report for a model that distilled from {@code teacher}. */
  public TrainingReport distilledFrom(String teacher, Distillation distillation) {
    return new TrainingReport(
        kind, config, trainImages, testImages, epochs, meanSecondsPerEpoch, testAccuracy, teacher, distillation,
        jointTraining);
  }

  /** This report for a variant family trained together as {@code jointTraining} says. */
  public TrainingReport trainedJointly(JointTraining jointTraining) {
    return new TrainingReport(
        kind, config, trainImages, testImages, epochs, meanSecondsPerEpoch, testAccuracy, teacher, distillation,
        jointTraining);
  }

  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(FILE_NAME);
    Path tmp = Files.createTempFile(dir, FILE_NAME, ".part");
    try {
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), this);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  public static TrainingReport read(Path dir) throws IOException {
    return new ObjectMapper().readValue(dir.resolve(FILE_NAME).toFile(), TrainingReport.class);
  }
}
