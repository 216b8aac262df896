package dev.shoal.cli;

import dev.shoal.train.fluid.FluidRecipe;
import dev.shoal.train.recipes.BaseRecipe;
import dev.shoal.train.recipes.ClassParallelRecipe;
import dev.shoal.train.recipes.DemoClassifierRecipe;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.recipes.TrainingReport;
import dev.shoal.train.recipes.VariantFamilyRecipe;
import dev.shoal.train.recipes.VariantSpec;
import dev.shoal.train.separable.PolicyRetrain;
import dev.shoal.train.separable.SeparableData;
import dev.shoal.train.separable.SeparableRecipe;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.Objective.Distillation;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal train demo|base|variants|class}: trains on the CPU with DJL and exports ONNX. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train on an MNIST-format data set (IDX files, .gz or raw) and export ONNX (opset 17).",
      "Recipe: SGD momentum 0.9, lr 0.1, cosine schedule with warm-up, weight decay 5e-5,",
      "label smoothing 0.1, random crop (pad 2) + horizontal flip, batch 128, fixed seed.",
      "  demo      the product demo's 5-block CNN: fashion-classifier.onnx + test .npy files",
      "  base      MobileNetV2-style base: base.onnx (logits)",
      "  densenet  DenseNet-style CNN (dense concatenations): densenet.onnx (logits), for `shoal bench codecs`",
      "  variants  the variant family, trained jointly: v*.onnx (top-k heads) + family.json",
      "  class     class-parallel sub-models: cp*.onnx + class-parallel.json",
      "  separable width-parallel network of --groups G as a one-shot supernet over transmission policies,",
      "            plus the non-separable reference; then `shoal search-policy` (docs/separable.md).",
      "            With --policy P.json: that one policy's network trained alone from fresh weights (the",
      "            search's choice retrained, as NAS does), exported to <out>/policies/<name> and added as",
      "            the row <name> of <out>/policy-results.json, which `shoal bench policy` prints",
      "  fluid     Fluid networks (nested incremental training) and the Static and Dynamic baselines:",
      "            checkpoints (a rerun resumes), g<G>/fluid.json + ONNX per group count (docs/fluid.md)",
      "Committed Fashion-MNIST models: models/fashion/{base,densenet,variants,class-parallel};",
      "scripts/reproduce-variants.sh retrains them and runs `shoal bench variants` (docs/training.md)."
    })
public final class TrainCommand implements Callable<Integer> {

  private static final List<String> KINDS = List.of("demo", "base", "densenet", "variants", "class", "separable", "fluid");

  /** The kinds, for picocli's help text. */
  static final class Kinds extends java.util.ArrayList<String> {
    Kinds() {
      super(KINDS);
    }
  }

  @Parameters(index = "0", completionCandidates = Kinds.class, description = "what to train: ${COMPLETION-CANDIDATES}")
  String kind;

  @Option(names = "--data", description = "directory with the IDX files (default: ${DEFAULT-VALUE})")
  Path data = Path.of("/usr/share/datasets/fashion-mnist");

  @Option(names = "--epochs", description = "training epochs (default: ${DEFAULT-VALUE})")
  int epochs = 3;

  @Option(names = "--out", description = "output directory (default: out/train/<kind>)")
  Path out;

  @Option(names = "--train-limit", description = "train on the first N training images only (default: all)")
  int trainLimit = Integer.MAX_VALUE;

  @Option(names = "--threads", description = "PyTorch intra-op threads (default: ${DEFAULT-VALUE})")
  int threads = 1;

  @Option(names = "--seed", description = "seed for init, shuffling and augmentation (default: ${DEFAULT-VALUE})")
  long seed = 42;

  @Option(names = "--samples", description = "demo: test images to write as .npy (default: ${DEFAULT-VALUE})")
  int samples = 500;

  @Option(names = "--k", description = "variants: classes each variant returns (default: ${DEFAULT-VALUE})")
  int k = 3;

  @Option(
      names = "--learning-rate",
      description = "peak learning rate of the cosine schedule (default: the recipe's, "
          + "${DEFAULT-VALUE})")
  float learningRate = TrainConfig.standard(1, 0).learningRate();

  @Option(
      names = "--width",
      description = "variants: width multiplier of every variant of the default family; above 0.4 a variant "
          + "no longer has 5.8x fewer parameters than the base (default: 0.4); separable: width multiplier of the "
          + "network, channel counts rounded to multiples of 12 (default: 1)")
  Double width;

  @Option(
      names = "--policy",
      description = "separable: train this policy's network alone from fresh weights for --epochs (G from the "
          + "policy), instead of the supernet and reference; resumes from <out>/checkpoints/<name>")
  Path policy;

  @Option(
      names = "--name",
      description = "separable, with --policy: the row's name in <out>/policy-results.json and its export directory "
          + "<out>/policies/<name> (default: alone-<epochs>-epochs)")
  String name;

  @Option(
      names = "--variant",
      paramLabel = "NAME:RES:WIDTH:HEAD",
      description = "variants: one member of the family (repeat for each), e.g. v28:28:0.35:128 — its name, "
          + "input resolution, width multiplier and head width; replaces the default family "
          + "(v28h128:28:0.4:128, v28h160:28:0.4:160, v28h192:28:0.4:192, v28h256:28:0.4:256)")
  List<String> variants = List.of();

  @Option(
      names = "--fused-loss-weight",
      description = "variants: weight of the fused prediction's cross-entropy in the joint loss, next to each "
          + "variant's own (default: ${DEFAULT-VALUE})")
  float fusedLossWeight = VariantFamilyRecipe.Settings.DEFAULT.fusedLossWeight();

  @Option(
      names = "--augment-each-variant",
      negatable = true,
      description = "variants: crop and flip each training image separately for every variant, instead of "
          + "one augmented view for all (default: " + "${DEFAULT-VALUE})")
  boolean augmentEachVariant = VariantFamilyRecipe.Settings.DEFAULT.augmentEachVariant();

  @Option(
      names = "--teacher",
      description = "variants: distil from this trained logits model, e.g. models/fashion/base/base.onnx (default: none)")
  Path teacher;

  @Option(
      names = "--distill-weight",
      description = "variants, with --teacher: share of each variant's own loss learnt from the teacher, in [0, 1) "
          + "(default: " + VariantFamilyRecipe.Settings.DEFAULT_DISTILL_WEIGHT + ")")
  Float distillWeight;

  @Option(
      names = "--distill-temperature",
      description = "variants, with --teacher: distillation temperature (default: "
          + VariantFamilyRecipe.Settings.DEFAULT_DISTILL_TEMPERATURE + ")")
  Float distillTemperature;

  @Option(names = "--sub-models", description = "class: number of sub-models (default: ${DEFAULT-VALUE})")
  int subModels = 4;

  @Option(
      names = "--groups",
      split = ",",
      paramLabel = "G",
      description = "separable: devices the width is split over, one of 2, 3 or 4 (default: 4); "
          + "fluid: sub-networks (devices) of each Fluid network to train, e.g. 2,3 (default: 2,3)")
  List<Integer> groups;

  @Option(
      names = "--reference-epochs",
      description = "separable: epochs of the non-separable reference (default: --epochs)")
  Integer referenceEpochs;

  @Option(
      names = "--part",
      split = ",",
      description = "separable: what to train, SUPERNET and/or REFERENCE (the search needs only the supernet) "
          + "(default: both)")
  java.util.Set<SeparableRecipe.Part> parts = java.util.EnumSet.allOf(SeparableRecipe.Part.class);

  @Option(
      names = "--validation",
      description = "separable: images carved from the end of the training set for the policy search "
          + "(default: ${DEFAULT-VALUE})")
  int validation = 5000;
  @Mixin FluidTrainOptions fluid = new FluidTrainOptions();

  @Override
  public Integer call() throws IOException {
    if (!KINDS.contains(kind)) {
      throw new IllegalArgumentException("unknown kind '" + kind + "', expected one of " + String.join(", ", KINDS));
    }
    DjlSetup.configure(threads);
    if (kind.equals("separable")) {
      return separable();
    }
    Path outDir = out != null ? out : Path.of("out", "train", kind);
    TrainConfig config = TrainConfig.standard(epochs, seed).withLearningRate(learningRate);
    // Flags first: a bad family is refused before the data is read.
    List<VariantSpec> family = kind.equals("variants") ? family() : List.of();
    FluidRecipe.Settings fluidSettings = kind.equals("fluid") ? fluid.settings(groups == null ? List.of(2, 3) : groups) : null;
    FashionData fashion = FashionData.load(data, trainLimit, System.out::println);
    switch (kind) {
      case "demo" -> {
        var r = DemoClassifierRecipe.run(fashion, config, samples, outDir, System.out::println);
        System.out.printf(
            "demo classifier: test accuracy %.4f (ONNX), %d parameters, %d MACs, %.1f s/epoch -> %s%n",
            r.testAccuracyOnnx(), r.parameters(), r.macs(), r.secondsPerEpoch(), outDir);
      }
      case "base" -> print(BaseRecipe.run(fashion, config, outDir, System.out::println), outDir);
      case "densenet" -> print(BaseRecipe.denseNet(fashion, config, outDir, System.out::println), outDir);
      case "variants" ->
          print(
              VariantFamilyRecipe.run(
                  fashion,
                  VariantFamilyRecipe.Settings.of(family, k, fusedLossWeight, augmentEachVariant, Optional.ofNullable(teacher), distillation()),
                  config,
                  outDir,
                  System.out::println),
              outDir);
      case "fluid" -> FluidRecipe.run(fashion, fluidSettings, config, outDir, System.out::println);
      default -> print(ClassParallelRecipe.run(fashion, subModels, config, outDir, System.out::println), outDir);
    }
    return 0;
  }

  private int separable() throws IOException {
    if (groups != null && groups.size() != 1) {
      throw new IllegalArgumentException("separable: --groups takes one group count (2, 3 or 4), got " + groups);
    }
    if (policy != null) {
      return separablePolicy();
    }
    if (name != null) {
      throw new IllegalArgumentException("--name names a --policy run");
    }
    int groups = this.groups == null ? 4 : this.groups.get(0);
    var settings =
        new SeparableRecipe.Settings(
            groups, parts,
            epochs, referenceEpochs != null ? referenceEpochs : epochs,
            TrainConfig.standard(epochs, seed).withLearningRate(learningRate), width == null ? 1.0 : width);
    Path outDir = out != null ? out : Path.of("out", "train", "separable-g" + groups);
    SeparableData data = SeparableData.load(this.data, validation, trainLimit, System.out::println);
    var r = SeparableRecipe.run(data, settings, outDir, System.out::println);
    if (r.supernet() != null) {
      System.out.printf(
          "separable G=%d: supernet %.0f s, validation %.4f (exchanging at every block) / %.4f (never)%n", groups,
          r.supernet().seconds(), r.supernet().validationAccuracy(), r.supernet().validationAccuracyNoExchange());
    }
    if (r.reference() != null) {
      System.out.printf(
          "non-separable reference: %.0f s, validation %.4f%n", r.reference().seconds(),
          r.reference().validationAccuracy());
    }
    System.out.println("-> " + outDir);
    return 0;
  }

  /** {@code train separable --policy}: one policy's network trained alone, exported and recorded. */
  private int separablePolicy() throws IOException {
    if (groups != null || referenceEpochs != null) {
      throw new IllegalArgumentException("with --policy the groups come from the policy and there is no reference: "
          + "drop --groups and --reference-epochs");
    }
    var settings =
        new PolicyRetrain.Settings(
            policy, name != null ? name : "alone-" + epochs + "-epochs", width == null ? 1.0 : width,
            TrainConfig.standard(epochs, seed).withLearningRate(learningRate));
    Path outDir = out != null ? out : Path.of("out", "train", "separable-policy");
    SeparableData data = SeparableData.load(this.data, validation, trainLimit, System.out::println);
    var row = PolicyRetrain.run(data, settings, outDir, System.out::println);
    System.out.printf(
        "%s: %d steps, %d bytes per inference (%.1f%% fewer than its baseline), validation %.4f, test %.4f -> %s%n",
        row.name(), row.steps(), row.bytesPerInference(), 100 * row.reduction(), row.validationAccuracy(),
        row.testAccuracy(), outDir.resolve(row.dir()));
    return 0;
  }

  /** The default family (at --width when given) or the --variant members. */
  private List<VariantSpec> family() {
    if (variants.isEmpty()) {
      return width == null ? VariantSpec.DEFAULT_FAMILY : VariantSpec.atWidth(VariantSpec.DEFAULT_FAMILY, width);
    }
    if (width != null) {
      throw new IllegalArgumentException("--width scales the default family; with --variant give each member's width");
    }
    return VariantSpec.family(variants.stream().map(VariantSpec::parse).toList());
  }

  /** The --distill-* settings, which mean nothing without a teacher. */
  private Distillation distillation() {
    if (teacher == null && (distillWeight != null || distillTemperature != null)) {
      throw new IllegalArgumentException("--distill-weight and --distill-temperature need --teacher");
    }
    return new Distillation(
        distillWeight != null ? distillWeight : VariantFamilyRecipe.Settings.DEFAULT_DISTILL_WEIGHT,
        distillTemperature != null ? distillTemperature : VariantFamilyRecipe.Settings.DEFAULT_DISTILL_TEMPERATURE);
  }

  private static void print(TrainingReport r, Path outDir) {
    System.out.printf(
        "%s: %d epochs on %d images, %.1f s/epoch; test accuracy %s -> %s%n",
        r.kind(), r.config().epochs(), r.trainImages(), r.meanSecondsPerEpoch(), r.testAccuracy(), outDir);
  }
}
