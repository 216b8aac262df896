package dev.shoal.bench.variants;

import dev.shoal.bench.ResultTable;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.recipes.BaseRecipe;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.recipes.TrainingReport;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.variants.EnsembleAccuracy;
import dev.shoal.train.variants.TopKOutputs;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code shoal bench variants}: the variant-parallelism paper's table for the base, each variant,
 * every ensemble of 2, 3 and 4 variants, and class parallelism — accuracy on the full test set
 * (exported ONNX models run by ONNX Runtime, ensembles fused by summed top-k scores as the gateway
 * fuses them), parameters, MACs, batch-1 response time here, values and bytes returned per
 * inference, the ratios against the base with the paper's targets marked — plus training time per
 * epoch from each model set's {@code training.json}. Writes CSV, JSON and a plot of accuracy
 * against MACs.
 *
 * <p>Models come from {@code models/fashion/{base,variants,class-parallel}} (what {@code shoal
 * train base|variants|class} writes).
 */
public final class VariantAccuracyBench {

  /** Where the models and data are, and how to time. */
  public record Config(Path models, Path data, int warmup, int rounds) {}

  /** Targets from the paper (issue 4). */
  static final double PARAMS_REDUCTION_TARGET = 5.8;
  static final double MACS_REDUCTION_TARGET = 4.3;
  static final double SPEEDUP_TARGET = 2.5;

  private static final String MET = "met";
  private static final String NOT_MET = "NOT met";
  private static final String NOT_APPLICABLE = "-";

  private VariantAccuracyBench() {}

  public static ResultTable run(Config config, Path out, PrintStream progress) throws IOException {
    Path baseDir = config.models().resolve("base");
    Path variantDir = config.models().resolve("variants");
    Path cpDir = config.models().resolve("class-parallel");
    for (Path needed : List.of(baseDir.resolve(BaseRecipe.MODEL_FILE), variantDir.resolve(VariantFamilyManifest.FILE_NAME),
        cpDir.resolve(ClassParallelManifest.FILE_NAME))) {
      if (!Files.isRegularFile(needed)) {
        throw new IOException(needed + " not found: train it with `shoal train base|variants|class --out DIR`"
            + " or scripts/reproduce-variants.sh");
      }
    }
    VariantFamilyManifest family = VariantFamilyManifest.read(variantDir.resolve(VariantFamilyManifest.FILE_NAME));
    ClassParallelManifest cp = ClassParallelManifest.read(cpDir.resolve(ClassParallelManifest.FILE_NAME));
    FashionData data = FashionData.load(config.data(), 1, progress::println);
    int classes = family.numClasses();
    var labels = data.test().data();

    progress.println("bench variants: evaluating the base on " + labels.count() + " test images ...");
    Path baseFile = baseDir.resolve(BaseRecipe.MODEL_FILE);
    boolean[] baseCorrect =
        Accuracy.correct(OnnxEvaluator.run(baseFile, data.test(), 500, 1).get(OnnxModels.LOGITS).floats(), labels);
    double baseAccuracy = Accuracy.fraction(baseCorrect);

    List<TopKOutputs> topK = new ArrayList<>();
    List<Path> variantFiles = new ArrayList<>();
    for (VariantFamilyManifest.Variant v : family.variants()) {
      progress.println("bench variants: evaluating " + v.name() + " ...");
      Path file = variantDir.resolve(v.file());
      variantFiles.add(file);
      Map<String, TensorData> o = OnnxEvaluator.run(file, data.test(), 500, 1);
      topK.add(TopKOutputs.of(o.get(v.classesOutput()), o.get(v.scoresOutput())));
    }
    progress.println("bench variants: evaluating class parallelism ...");
    List<Path> cpFiles = new ArrayList<>();
    float[] cpLogits = new float[labels.count() * classes];
    for (ClassParallelManifest.Member m : cp.members()) {
      Path file = cpDir.resolve(m.file());
      cpFiles.add(file);
      float[] own = OnnxEvaluator.run(file, data.test(), 500, 1).get(m.output()).floats();
      for (int i = 0; i < labels.count(); i++) {
        for (int j = 0; j < m.classes().size(); j++) {
          cpLogits[i * classes + m.classes().get(j)] = own[i * m.classes().size() + j];
        }
      }
    }
    boolean[] cpCorrect = Accuracy.correct(cpLogits, labels);
    double cpAccuracy = Accuracy.fraction(cpCorrect);
    PairedDifference cpVsBase = PairedDifference.of(cpCorrect, baseCorrect);

    progress.println("bench variants: timing batch-1 inference (" + config.rounds() + " interleaved rounds) ...");
    List<Path> all = new ArrayList<>();
    all.add(baseFile);
    all.addAll(variantFiles);
    all.addAll(cpFiles);
    TensorData oneImage =
        TensorData.ofFloats(
            OnnxModels.INPUT,
            new long[] {1, 1, data.rows(), data.cols()},
            data.test().images(data.test().sequentialOrder(), 0, 1, Augmentation.NONE, null));
    Map<Path, Double> millis = Latencies.medianMillis(all, oneImage, config.warmup(), config.rounds());
    Map<Path, ModelStats> stats = new LinkedHashMap<>();
    all.forEach(f -> stats.put(f, ModelStats.of(f)));

    ModelStats base = stats.get(baseFile);
    double baseMillis = millis.get(baseFile);
    ResultTable table =
        new ResultTable(
            "model", "members", "accuracy", "accuracyTarget", "vsBasePoints", "vsBaseCi95", "params", "paramsReduction", "paramsTarget",
            "macs", "macsReduction", "macsTarget", "medianMs", "speedup", "speedupTarget", "valuesReturned",
            "bytesReturned");
    table.row("base", 1, round(baseAccuracy), NOT_APPLICABLE, 0.0, 0.0, base.params(), 1.0, NOT_APPLICABLE, base.macs(), 1.0,
        NOT_APPLICABLE, round(baseMillis), 1.0, NOT_APPLICABLE, classes, (long) classes * DType.FLOAT.byteSize());
    List<String> failures = new ArrayList<>();
    List<Ensemble> ensembles = new ArrayList<>();
    int n = family.variants().size();
    // Members in order of size (one variant, then pairs, ...), each size in the family's order.
    for (int size = 1; size <= n; size++) {
      for (int mask = 1; mask < (1 << n); mask++) {
        if (Integer.bitCount(mask) != size) {
          continue;
        }
        Ensemble e = ensemble(mask, family, topK, variantFiles, stats, millis, classes, labels, baseCorrect);
        ensembles.add(e);
        double paramsReduction = (double) base.params() / e.params();
        double macsReduction = (double) base.macs() / e.macs();
        double speedup = baseMillis / e.slowestMs();
        boolean single = size == 1;
        String accuracyTarget = single ? NOT_APPLICABLE : mark(e.accuracy() >= baseAccuracy);
        String paramsTarget = single ? mark(paramsReduction >= PARAMS_REDUCTION_TARGET) : NOT_APPLICABLE;
        String macsTarget = single ? mark(macsReduction >= MACS_REDUCTION_TARGET) : NOT_APPLICABLE;
        String speedupTarget = mark(speedup >= SPEEDUP_TARGET);
        table.row(e.name(), size, round(e.accuracy()), accuracyTarget, round(e.vsBase().points()),
            round(e.vsBase().ci95Points()), e.params(), round(paramsReduction), paramsTarget,
            e.macs(), round(macsReduction), macsTarget, round(e.slowestMs()), round(speedup), speedupTarget,
            e.values(), e.bytes());
        if (single && paramsReduction < PARAMS_REDUCTION_TARGET) {
          failures.add(e.name() + ": " + round(paramsReduction) + "x fewer parameters, target " + PARAMS_REDUCTION_TARGET + "x");
        }
        if (single && macsReduction < MACS_REDUCTION_TARGET) {
          failures.add(e.name() + ": " + round(macsReduction) + "x fewer MACs, target " + MACS_REDUCTION_TARGET + "x");
        }
        if (size == n && e.accuracy() < baseAccuracy) {
          failures.add(e.name() + ": accuracy " + round(e.accuracy()) + " below the base's " + round(baseAccuracy)
              + String.format(Locale.ROOT, " (%+.2f points, 95%% interval +-%.2f)", e.vsBase().points(),
                  e.vsBase().ci95Points()));
        }
        if (single && speedup < SPEEDUP_TARGET) {
          failures.add(e.name() + ": " + round(speedup) + "x faster than the base (batch-1, local), target " + SPEEDUP_TARGET + "x");
        }
      }
    }
    long cpParams = 0;
    long cpMacs = 0;
    double cpSlowest = 0;
    for (Path f : cpFiles) {
      cpParams += stats.get(f).params();
      cpMacs += stats.get(f).macs();
      cpSlowest = Math.max(cpSlowest, millis.get(f));
    }
    table.row("class-parallel", cpFiles.size(), round(cpAccuracy), mark(cpAccuracy >= baseAccuracy),
        round(cpVsBase.points()), round(cpVsBase.ci95Points()), cpParams,
        round((double) base.params() / cpParams), NOT_APPLICABLE, cpMacs, round((double) base.macs() / cpMacs),
        NOT_APPLICABLE, round(cpSlowest), round(baseMillis / cpSlowest), NOT_APPLICABLE, classes,
        (long) classes * DType.FLOAT.byteSize());

    Map<String, Double> secondsPerEpoch = new LinkedHashMap<>();
    for (Path dir : List.of(baseDir, variantDir, cpDir)) {
      TrainingReport r = TrainingReport.read(dir);
      secondsPerEpoch.put(r.kind(), round(r.meanSecondsPerEpoch()));
      table.meta("training." + r.kind(), r.config().epochs() + " epochs on " + r.trainImages() + " images, "
          + round(r.meanSecondsPerEpoch()) + " s/epoch");
    }
    table.meta("testImages", labels.count())
        .meta("models", config.models().toString())
        .meta("fusion", family.fusion())
        .meta("vsBase", "accuracy minus the base's in points, paired image by image on the same test images;"
            + " vsBaseCi95: half-width of its 95% interval (normal approximation)")
        .meta("responseTime", "batch-1 ONNX Runtime, 1 intra-op thread, median of " + config.rounds()
            + " interleaved rounds; ensembles and class-parallel: slowest member (members on separate devices)")
        .meta("returned", "base and class-parallel: one float32 logit per class; a variant: its top-k, k int64 class"
            + " ids + k float32 scores; an ensemble: the sum over its members")
        .meta("targets", "each variant >= " + PARAMS_REDUCTION_TARGET + "x fewer parameters and >= "
            + MACS_REDUCTION_TARGET + "x fewer MACs than the base; ensembles at least as accurate as the base;"
            + " response time >= " + SPEEDUP_TARGET + "x lower (paper: served; here: local batch-1 ONNX Runtime)")
        .meta("targetFailures", failures);
    table.print(progress);
    progress.println("training time per epoch (s): " + secondsPerEpoch);
    if (failures.isEmpty()) {
      progress.println("targets: all MET");
    } else {
      failures.forEach(f -> progress.println("target NOT met: " + f));
    }
    table.writeCsv(out.resolve("variants.csv"));
    table.writeJson(out.resolve("variants.json"));
    plot(ensembles, n, base, baseAccuracy).writePng(out.resolve("variants-accuracy-vs-macs.png"), 800, 450);
    progress.println("bench variants: results in " + out);
    return table;
  }

  /** One non-empty subset of the family, fused as the gateway fuses it. */
  private record Ensemble(
      String name, int mask, double accuracy, PairedDifference vsBase, long params, long macs, double slowestMs, long values, long bytes) {}

  private static Ensemble ensemble(
      int mask,
      VariantFamilyManifest family,
      List<TopKOutputs> topK,
      List<Path> files,
      Map<Path, ModelStats> stats,
      Map<Path, Double> millis,
      int classes,
      LabelledImages labels,
      boolean[] baseCorrect) {
    List<TopKOutputs> members = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Double> weights = new ArrayList<>();
    long params = 0;
    long macs = 0;
    long values = 0;
    long bytes = 0;
    double slowest = 0;
    for (int i = 0; i < family.variants().size(); i++) {
      if ((mask & (1 << i)) != 0) {
        VariantFamilyManifest.Variant v = family.variants().get(i);
        members.add(topK.get(i));
        names.add(v.name());
        weights.add(v.fusionWeight());
        ModelStats s = stats.get(files.get(i));
        params += s.params();
        macs += s.macs();
        values += 2L * v.k();
        bytes += (long) v.k() * (DType.INT64.byteSize() + DType.FLOAT.byteSize());
        slowest = Math.max(slowest, millis.get(files.get(i)));
      }
    }
    boolean[] correct =
        EnsembleAccuracy.correct(members, weights.stream().mapToDouble(Double::doubleValue).toArray(), classes, labels);
    String name = members.size() == 1 ? names.get(0) : "ensemble " + String.join("+", names);
    return new Ensemble(name, mask, Accuracy.fraction(correct), PairedDifference.of(correct, baseCorrect), params, macs, slowest, values, bytes);
  }

  /**
   * Accuracy against MACs, as points of accuracy above (or below) the base so the differences show:
   * each variant alone, the ensembles that add the family's members in order (largest first), and
   * the base as the zero line out to its MACs.
   */
  private static LineChart plot(List<Ensemble> ensembles, int n, ModelStats base, double baseAccuracy) {
    List<Ensemble> singles = ensembles.stream().filter(e -> Integer.bitCount(e.mask()) == 1)
        .sorted(Comparator.comparingLong(Ensemble::macs)).toList();
    List<Ensemble> growing = new ArrayList<>();
    for (int size = 1; size <= n; size++) {
      int prefix = (1 << size) - 1;
      ensembles.stream().filter(e -> e.mask() == prefix).forEach(growing::add);
    }
    return new LineChart("Fashion-MNIST: accuracy vs MACs", "MACs per image",
            "accuracy - base (points)", null)
        .add("each variant alone", singles.stream().mapToDouble(Ensemble::macs).toArray(),
            singles.stream().mapToDouble(e -> (e.accuracy() - baseAccuracy) * 100).toArray(), LineChart.Axis.LEFT)
        .add("ensemble of the first 1..n variants", growing.stream().mapToDouble(Ensemble::macs).toArray(),
            growing.stream().mapToDouble(e -> (e.accuracy() - baseAccuracy) * 100).toArray(), LineChart.Axis.LEFT)
        .add(String.format(Locale.ROOT, "base: %.2f%% at %d MACs", baseAccuracy * 100, base.macs()),
            new double[] {0, base.macs()}, new double[] {0, 0}, LineChart.Axis.LEFT);
  }

  private static String mark(boolean met) {
    return met ? MET : NOT_MET;
  }

  private static double round(double x) {
    return Math.round(x * 10000) / 10000.0;
  }
}
