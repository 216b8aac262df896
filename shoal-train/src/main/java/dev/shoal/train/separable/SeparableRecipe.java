package dev.shoal.train.separable;

import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.recipes.Progress;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@code shoal train separable}: trains the separable network of {@code groups} as a one-shot
 * supernet (a policy drawn per batch, {@link PolicySpace#sampleForTraining}) and the non-separable
 * network of the same total width with the same recipe, the accuracy reference. Writes into the
 * output directory {@code supernet.weights} (what the policy search loads), {@code reference.onnx}
 * and {@link SeparableTraining#FILE_NAME}. Each phase checkpoints every epoch under
 * {@code checkpoints/}; a finished phase is skipped when the command runs again.
 */
public final class SeparableRecipe {

  public static final String SUPERNET_WEIGHTS = "supernet.weights";
  public static final String REFERENCE_MODEL = "reference.onnx";

  private SeparableRecipe() {}

  /** The two parts; either can run alone (the search needs only the supernet). */
  public enum Part {
    SUPERNET,
    REFERENCE
  }

  /**
   * What to train: the groups, the parts to train, epochs of the supernet and of the reference, the shared
   * recipe, and the width multiplier of the network ({@link SeparableArchitecture#fashion(int, int, int, int,
   * double)}; the architecture, and so the width, is recorded in {@link SeparableTraining#FILE_NAME}, which the
   * search reads).
   */
  public record Settings(
      int groups, java.util.Set<Part> parts, int supernetEpochs, int referenceEpochs, TrainConfig recipe,
      double width) {
    public Settings(int groups, java.util.Set<Part> parts, int supernetEpochs, int referenceEpochs, TrainConfig recipe) {
      this(groups, parts, supernetEpochs, referenceEpochs, recipe, 1.0);
    }

    public Settings {
      parts = java.util.Set.copyOf(parts);
      if (parts.isEmpty()) {
        throw new IllegalArgumentException("nothing to train: give at least one phase");
      }
      if (!SeparableArchitecture.SUPPORTED_GROUPS.contains(groups)) {
        throw new IllegalArgumentException(
            "--groups must be one of " + SeparableArchitecture.SUPPORTED_GROUPS + ", got " + groups);
      }
      if (supernetEpochs < 1 || referenceEpochs < 1) {
        throw new IllegalArgumentException("epochs must be >= 1");
      }
    }
  }

  /** Parameters and MACs of {@code net}, in all and per device, for a log line. */
  static String size(SeparableNet net, int rows, int cols) {
    Shape one = new Shape(1, 1, rows, cols);
    return String.format(
        "%d parameters in all, %d per device; %d MACs per image in all, %d per device",
        TrainingSession.parameterCount(net), net.parametersPerDevice(), net.macs(one), net.macsPerDevice(one));
  }

  public static SeparableTraining run(SeparableData data, Settings settings, Path outDir, Consumer<String> log)
      throws IOException {
    Files.createDirectories(outDir);
    SeparableArchitecture arch =
        SeparableArchitecture.fashion(settings.groups(), data.rows(), data.cols(), data.classes(), settings.width());
    int trainCount = data.train().data().count();

    Optional<SeparableTraining> before =
        Files.isRegularFile(outDir.resolve(SeparableTraining.FILE_NAME))
            ? Optional.of(SeparableTraining.read(outDir))
            : Optional.empty();
    before.ifPresent(b -> {
      if (!b.architecture().equals(arch)) {
        throw new IllegalArgumentException(
            outDir + " holds another network (" + b.architecture().groups() + " groups, blocks "
                + b.architecture().blocks() + "); use another --out");
      }
    });
    SeparableTraining.Phase supernet = before.map(SeparableTraining::supernet).orElse(null);
    SeparableTraining.Phase reference = before.map(SeparableTraining::reference).orElse(null);
    if (settings.parts().contains(Part.SUPERNET)) {
      supernet = supernet(data, settings, arch, outDir, log);
      new SeparableTraining(arch, trainCount, data.validation().data().count(),
          TransmissionPolicy.baseline(arch).bytes(arch), supernet, reference).write(outDir);
    }
    if (settings.parts().contains(Part.REFERENCE)) {
      reference = reference(data, settings, arch, outDir, log);
    }
    SeparableTraining result =
        new SeparableTraining(
            arch, trainCount, data.validation().data().count(), TransmissionPolicy.baseline(arch).bytes(arch),
            supernet, reference);
    result.write(outDir);
    return result;
  }

  private static SeparableTraining.Phase supernet(
      SeparableData data, Settings settings, SeparableArchitecture arch, Path outDir, Consumer<String> log)
      throws IOException {
    int trainCount = data.train().data().count();
    TrainConfig supernetConfig = copy(settings.recipe(), settings.supernetEpochs());
    try (SeparableTrainer trainer = new SeparableTrainer(new SeparableNet(arch), supernetConfig, trainCount)) {
      SeparableNet net = trainer.net();
      log.accept(String.format(
          "separable G=%d, width %s: %s; baseline %d bytes per inference", arch.groups(), settings.width(),
          size(net, data.rows(), data.cols()), TransmissionPolicy.baseline(arch).bytes(arch)));
      PolicySpace space = new PolicySpace(arch, List.of(LinkCodec.values()));
      List<EpochReport> epochs =
          trainer.fit(
              data.train(), Optional.of(space::sampleForTraining), outDir.resolve("checkpoints/supernet"),
              Progress.epochs("supernet", supernetConfig, log));
      trainer.saveWeights(outDir.resolve(SUPERNET_WEIGHTS));
      net.usePolicy(TransmissionPolicy.baseline(arch));
      trainer.recalibrate(data.train(), SeparableTrainer.CALIBRATION_IMAGES);
      double baselineVal = Accuracy.of(trainer.logits(data.validation()), data.validation().data());
      net.usePolicy(TransmissionPolicy.none(arch));
      trainer.recalibrate(data.train(), SeparableTrainer.CALIBRATION_IMAGES);
      double noneVal = Accuracy.of(trainer.logits(data.validation()), data.validation().data());
      log.accept(String.format(
          "supernet: validation accuracy %.4f exchanging at every block, %.4f never exchanging", baselineVal, noneVal));
      return SeparableTraining.Phase.of(supernetConfig, epochs, baselineVal, noneVal);
    }
  }

  private static SeparableTraining.Phase reference(
      SeparableData data, Settings settings, SeparableArchitecture arch, Path outDir, Consumer<String> log)
      throws IOException {
    Shape one = new Shape(1, 1, data.rows(), data.cols());
    int trainCount = data.train().data().count();
    TrainConfig referenceConfig = copy(settings.recipe(), settings.referenceEpochs());
    try (SeparableTrainer trainer =
        new SeparableTrainer(new SeparableNet(arch.nonSeparable()), referenceConfig, trainCount)) {
      SeparableNet net = trainer.net();
      log.accept(String.format(
          "non-separable reference: %d parameters, %d MACs per image",
          TrainingSession.parameterCount(net), net.macs(one)));
      List<EpochReport> epochs =
          trainer.fit(
              data.train(), Optional.empty(), outDir.resolve("checkpoints/reference"),
              Progress.epochs("reference", referenceConfig, log));
      double val = Accuracy.of(trainer.logits(data.validation()), data.validation().data());
      OnnxModelIO.write(
          OnnxModels.logits("reference", net, data.rows(), data.cols(), data.classes()), outDir.resolve(REFERENCE_MODEL));
      log.accept(String.format("reference: validation accuracy %.4f", val));
      return SeparableTraining.Phase.of(referenceConfig, epochs, val, Double.NaN);
    }
  }

  private static TrainConfig copy(TrainConfig recipe, int epochs) {
    return new TrainConfig(
        epochs, recipe.batchSize(), recipe.learningRate(), recipe.momentum(), recipe.weightDecay(),
        recipe.labelSmoothing(), recipe.augmentation(), recipe.seed());
  }

  /**
   * {@value #FILE_NAME}: what was trained, how long it took, and the validation accuracies; a phase
   * not trained yet is null.
   */
  public record SeparableTraining(
      SeparableArchitecture architecture,
      int trainImages,
      int validationImages,
      long baselineBytes,
      Phase supernet,
      Phase reference) {

    public static final String FILE_NAME = "separable-training.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One training phase; {@code validationAccuracy} of the supernet is at the baseline policy,
     * {@code validationAccuracyNoExchange} with no exchange at all (NaN for the reference).
     */
    public record Phase(
        TrainConfig config, List<EpochReport> epochs, double seconds, double validationAccuracy,
        double validationAccuracyNoExchange) {
      static Phase of(TrainConfig config, List<EpochReport> epochs, double val, double valNone) {
        return new Phase(config, epochs, epochs.stream().mapToDouble(EpochReport::seconds).sum(), val, valNone);
      }

      /** Optimiser steps the phase took (refused ones included, as the schedule counts them). */
      public long steps() {
        return SeparableTrainer.steps(epochs, config.batchSize());
      }
    }

    public void write(Path dir) throws IOException {
      JSON.writeValue(dir.resolve(FILE_NAME).toFile(), this);
    }

    public static SeparableTraining read(Path dir) throws IOException {
      Path file = dir.resolve(FILE_NAME);
      if (!Files.isRegularFile(file)) {
        throw new IOException(dir + ": no " + FILE_NAME + " (train it first: shoal train separable --groups G --out " + dir + ")");
      }
      return JSON.readValue(file.toFile(), SeparableTraining.class);
    }
  }
}
