package dev.shoal.train.recipes;

import ai.djl.ndarray.types.Shape;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.export.OnnxTeacher;
import dev.shoal.train.models.MobileNetV2Style;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ParallelNets;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.Objective.Distillation;
import dev.shoal.train.train.Teacher;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import dev.shoal.train.variants.EnsembleAccuracy;
import dev.shoal.train.variants.TopKOutputs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Trains the variant family simultaneously — one loop, shared batches, the joint loss of
 * {@link Objective.VariantJoint} — and exports one top-k ONNX per variant plus
 * {@code family.json} and {@code training.json}.
 */
public final class VariantFamilyRecipe {

  private VariantFamilyRecipe() {}

  /**
   * Family settings: the members, k of each top-k head, the weight of the fused term in the loss,
   * whether each variant trains on its own augmented view of every image (same images, own crop and
   * flip) rather than all on one, and optionally a trained model (a logits ONNX, e.g. the base) each
   * variant distils from.
   */
  public record Settings(
      List<VariantSpec> family,
      int k,
      float fusedLossWeight,
      boolean augmentEachVariant,
      Optional<Path> teacher,
      Distillation distillation) {
    public static final Settings DEFAULT =
        new Settings(VariantSpec.DEFAULT_FAMILY, 3, 1.0f, false, Optional.empty(), Distillation.NONE);
    /**
     * Temperature 4 and 90% of each variant's own term from the teacher: on 20,000 images for 2
     * epochs this beat weight 0.5 and no teacher (fused family 0.832 / 0.826 / 0.818); on all
     * 60,000 for 4 epochs it lost to no teacher (0.896 / 0.903), see docs/training.md.
     */
    public static final float DEFAULT_DISTILL_WEIGHT = 0.9f;
    public static final float DEFAULT_DISTILL_TEMPERATURE = 4f;
    public static final Distillation DEFAULT_DISTILLATION =
        new Distillation(DEFAULT_DISTILL_WEIGHT, DEFAULT_DISTILL_TEMPERATURE);

    public Settings {
      family = VariantSpec.family(family);
      if (!(fusedLossWeight >= 0 && Float.isFinite(fusedLossWeight))) {
        throw new IllegalArgumentException("the fused loss weight must be finite and >= 0, got " + fusedLossWeight);
      }
      if (augmentEachVariant && teacher.isPresent()) {
        throw new IllegalArgumentException(
            "distillation needs every variant to see the view the teacher sees; drop augmenting each variant");
      }
      if (teacher.isPresent() != distillation.enabled()) {
        throw new IllegalArgumentException(
            teacher.isPresent()
                ? "a teacher needs a distillation weight above 0"
                : "distillation weight " + distillation.weight() + " needs a teacher");
      }
    }

    /**
     * The family {@code family} with {@code k}, the fused term's weight, own views or not and, when
     * {@code teacher} is present, distillation from it.
     */
    public static Settings of(
        List<VariantSpec> family,
        int k,
        float fusedLossWeight,
        boolean augmentEachVariant,
        Optional<Path> teacher,
        Distillation distillation) {
      return new Settings(
          family,
          k,
          fusedLossWeight,
          augmentEachVariant,
          teacher,
          teacher.isPresent() ? distillation : Distillation.NONE);
    }
  }

  public static TrainingReport run(
      FashionData data, Settings settings, TrainConfig config, Path outDir, Consumer<String> log)
      throws IOException {
    List<VariantSpec> family = settings.family();
    int maxResolution = family.stream().mapToInt(VariantSpec::resolution).max().orElseThrow();
    int classes = data.numClasses();
    List<Chain> members = new ArrayList<>();
    float[] weights = new float[family.size()];
    for (int i = 0; i < family.size(); i++) {
      VariantSpec v = family.get(i);
      members.add(MobileNetV2Style.variant(data.rows(), v.resolution(), v.widthMultiplier(), v.headWidth(), classes));
      weights[i] = (float) v.fusionWeight(maxResolution);
    }
    ParallelNets net = new ParallelNets(
        members, false, settings.augmentEachVariant() ? ParallelNets.Feed.OWN_VIEW : ParallelNets.Feed.SAME_VIEW);
    Shape sample = new Shape(net.inputChannels(), data.rows(), data.cols());
    Shape one = new Shape(1, 1, data.rows(), data.cols());
    Objective objective = new Objective.VariantJoint(weights, settings.fusedLossWeight(), settings.distillation());
    Optional<Teacher> teacher =
        settings.teacher().map(file -> OnnxTeacher.open(file, data.rows(), data.cols(), classes, 1));
    teacher.ifPresent(t -> log.accept(String.format(
        "variants distil from %s: weight %.2f, temperature %.1f",
        t, settings.distillation().weight(), settings.distillation().temperature())));
    try (TrainingSession session =
        new TrainingSession(net, objective, config, sample, data.train().data().count())) {
      var epochs = session.fit(data.train(), teacher, Progress.epochs("variants", config, log));
      List<VariantFamilyManifest.Variant> entries = new ArrayList<>();
      List<TopKOutputs> outputs = new ArrayList<>();
      Map<String, Double> accuracy = new LinkedHashMap<>();
      for (int i = 0; i < family.size(); i++) {
        VariantSpec v = family.get(i);
        Chain member = members.get(i);
        Path file = outDir.resolve(v.file());
        OnnxModelIO.write(
            OnnxModels.topK(v.name(), member, data.rows(), data.cols(), classes, settings.k()), file);
        Map<String, TensorData> out = OnnxEvaluator.run(file, data.test(), 500, 1);
        TopKOutputs topK = TopKOutputs.of(out.get(OnnxModels.TOPK_CLASSES), out.get(OnnxModels.TOPK_SCORES));
        outputs.add(topK);
        double acc = EnsembleAccuracy.of(List.of(topK), new double[] {1}, classes, data.test().data());
        accuracy.put(v.name(), acc);
        long params = TrainingSession.parameterCount(member);
        long macs = member.macs(one);
        log.accept(
            String.format(
                "%s: r=%d alpha=%.2f head=%d, %d parameters, %d MACs, test accuracy %.4f",
                v.name(), v.resolution(), v.widthMultiplier(), v.headWidth(), params, macs, acc));
        entries.add(
            new VariantFamilyManifest.Variant(
                v.name(),
                v.file(),
                v.resolution(),
                v.widthMultiplier(),
                v.headWidth(),
                params,
                macs,
                weights[i],
                settings.k(),
                OnnxModels.TOPK_CLASSES,
                OnnxModels.TOPK_SCORES,
                acc));
      }
      double[] w = new double[weights.length];
      for (int i = 0; i < w.length; i++) {
        w[i] = weights[i];
      }
      for (int n = 2; n <= family.size(); n++) {
        double acc =
            EnsembleAccuracy.of(outputs.subList(0, n), java.util.Arrays.copyOf(w, n), classes, data.test().data());
        accuracy.put("ensemble-first-" + n, acc);
        log.accept(String.format("ensemble of the first %d variants: test accuracy %.4f", n, acc));
      }
      new VariantFamilyManifest(
              VariantFamilyManifest.FORMAT_VERSION,
              "fashion-mnist-variants",
              classes,
              data.modelInput(),
              VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM,
              entries)
          .write(outDir.resolve(VariantFamilyManifest.FILE_NAME));
      TrainingReport report =
          TrainingReport.of("variants", config, data, epochs, accuracy)
          .trainedJointly(new TrainingReport.JointTraining(settings.fusedLossWeight(), settings.augmentEachVariant()));
      if (settings.teacher().isPresent()) {
        report = report.distilledFrom(settings.teacher().get().toString(), settings.distillation());
      }
      report.write(outDir);
      return report;
    } finally {
      teacher.ifPresent(Teacher::close);
    }
  }
}
