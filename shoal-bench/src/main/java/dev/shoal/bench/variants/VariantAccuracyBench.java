package dev.shoal.bench.variants;

import dev.shoal.bench.ResultTable;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.recipes.BaseRecipe;
import dev.shoal.train.recipes.ClassParallelRecipe;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.recipes.TrainingReport;
import dev.shoal.train.recipes.VariantFamilyRecipe;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.variants.EnsembleAccuracy;
import dev.shoal.train.variants.TopKOutputs;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training/accuracy half of {@code shoal bench variants}: the paper's table for the base, each
 * variant, every ensemble of 2, 3 and 4 variants, and class parallelism — accuracy on the full test
 * set (exported ONNX models run by ONNX Runtime, fused as the gateway fuses), parameters, MACs,
 * batch-1 response time here, bytes returned per inference — plus training time per epoch and the
 * paper's targets checked.
 *
 * <p>Models come from {@code models/fashion/{base,variants,class-parallel}}; with {@code retrain}
 * they are first trained from scratch into that directory.
 */
public final class VariantAccuracyBench {

  /** Where the models and data are, and how to measure. */
  public record Config(Path models, Path data, boolean retrain, int epochs, int trainLimit, int warmup, int rounds) {}

  /** Targets from the paper (issue 4). */
  static final double PARAMS_REDUCTION_TARGET = 5.8;
  static final double MACS_REDUCTION_TARGET = 4.3;

  private VariantAccuracyBench() {}

  public static ResultTable run(Config config, Path out, PrintStream progress) throws IOException {
    FashionData data = FashionData.load(config.data(), config.trainLimit(), progress::println);
    Path baseDir = config.models().resolve("base");
    Path variantDir = config.models().resolve("variants");
    Path cpDir = config.models().resolve("class-parallel");
    if (config.retrain()) {
      TrainConfig train = TrainConfig.standard(config.epochs(), 42);
      BaseRecipe.run(data, train, baseDir, progress::println);
      VariantFamilyRecipe.run(data, VariantFamilyRecipe.Settings.DEFAULT, train, variantDir, progress::println);
      ClassParallelRecipe.run(data, 4, train, cpDir, progress::println);
    }
    VariantFamilyManifest family = VariantFamilyManifest.read(variantDir.resolve(VariantFamilyManifest.FILE_NAME));
    ClassParallelManifest cp = ClassParallelManifest.read(cpDir.resolve(ClassParallelManifest.FILE_NAME));
    int classes = family.numClasses();
    var labels = data.test().data();

    progress.println("bench variants: evaluating the base on " + labels.count() + " test images ...");
    Path baseFile = baseDir.resolve(BaseRecipe.MODEL_FILE);
    double baseAccuracy =
        Accuracy.of(OnnxEvaluator.run(baseFile, data.test(), 500, 1).get(OnnxModels.LOGITS).floats(), labels);

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
    double cpAccuracy = Accuracy.of(cpLogits, labels);

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
            "model", "members", "accuracy", "params", "paramsReduction", "macs", "macsReduction",
            "medianMs", "speedup", "bytesReturned");
    table.row("base", 1, round(baseAccuracy), base.params(), 1.0, base.macs(), 1.0, round(baseMillis), 1.0,
        (long) classes * DType.FLOAT.byteSize());
    List<String> failures = new ArrayList<>();
    int n = family.variants().size();
    for (int mask = 1; mask < (1 << n); mask++) {
      List<TopKOutputs> members = new ArrayList<>();
      List<String> names = new ArrayList<>();
      List<Double> weights = new ArrayList<>();
      long params = 0;
      long macs = 0;
      long bytes = 0;
      double slowest = 0;
      for (int i = 0; i < n; i++) {
        if ((mask & (1 << i)) != 0) {
          VariantFamilyManifest.Variant v = family.variants().get(i);
          members.add(topK.get(i));
          names.add(v.name());
          weights.add(v.fusionWeight());
          ModelStats s = stats.get(variantFiles.get(i));
          params += s.params();
          macs += s.macs();
          bytes += (long) v.k() * (DType.INT64.byteSize() + DType.FLOAT.byteSize());
          slowest = Math.max(slowest, millis.get(variantFiles.get(i)));
        }
      }
      double acc =
          EnsembleAccuracy.of(members, weights.stream().mapToDouble(Double::doubleValue).toArray(), classes, labels);
      String name = members.size() == 1 ? names.get(0) : "ensemble " + String.join("+", names);
      double paramsReduction = (double) base.params() / params;
      double macsReduction = (double) base.macs() / macs;
      table.row(name, members.size(), round(acc), params, round(paramsReduction), macs, round(macsReduction),
          round(slowest), round(baseMillis / slowest), bytes);
      if (members.size() == 1) {
        if (paramsReduction < PARAMS_REDUCTION_TARGET) {
          failures.add(name + ": " + round(paramsReduction) + "x fewer parameters, target " + PARAMS_REDUCTION_TARGET + "x");
        }
        if (macsReduction < MACS_REDUCTION_TARGET) {
          failures.add(name + ": " + round(macsReduction) + "x fewer MACs, target " + MACS_REDUCTION_TARGET + "x");
        }
      } else if (members.size() == n && acc < baseAccuracy) {
        failures.add(name + ": accuracy " + round(acc) + " below the base's " + round(baseAccuracy));
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
    table.row("class-parallel", cpFiles.size(), round(cpAccuracy), cpParams, round((double) base.params() / cpParams),
        cpMacs, round((double) base.macs() / cpMacs), round(cpSlowest), round(baseMillis / cpSlowest),
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
        .meta("responseTime", "batch-1 ONNX Runtime, 1 intra-op thread, median of " + config.rounds()
            + " interleaved rounds; ensembles and class-parallel: slowest member (members on separate devices)")
        .meta("targetFailures", failures);
    table.print(progress);
    progress.println("training time per epoch (s): " + secondsPerEpoch);
    if (failures.isEmpty()) {
      progress.println("targets: every variant >= " + PARAMS_REDUCTION_TARGET + "x fewer parameters and >= "
          + MACS_REDUCTION_TARGET + "x fewer MACs than the base; the full ensemble at least as accurate: MET");
    } else {
      failures.forEach(f -> progress.println("target MISSED: " + f));
    }
    table.writeCsv(out.resolve("variants-accuracy.csv"));
    table.writeJson(out.resolve("variants-accuracy.json"));
    return table;
  }

  private static double round(double x) {
    return Math.round(x * 10000) / 10000.0;
  }
}
