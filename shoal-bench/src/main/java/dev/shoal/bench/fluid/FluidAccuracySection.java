package dev.shoal.bench.fluid;

import dev.shoal.bench.ResultTable;
import dev.shoal.bench.variants.PairedDifference;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.fluid.CombinedModeRunner;
import dev.shoal.train.fluid.FluidRecipe;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.Accuracy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The accuracy table: for each Fluid network (G = 2, 3), on the full test set with ONNX Runtime —
 * each sub-network alone, every combined mode (its stages chained as the devices would run them),
 * the sub-networks' softmax outputs averaged (no cross links), Static and each of Dynamic's widths
 * k/G — with parameters, MACs, bytes crossing devices per image, accuracy against Static paired
 * image by image, and what one failed device leaves. Target (paper): the combined network within
 * 0.5 points of Static.
 */
public final class FluidAccuracySection implements FluidBenchSection {

  static final double WITHIN_STATIC_POINTS = 0.5;
  private static final int BATCH = 500;

  @Override
  public String name() {
    return "accuracy";
  }

  @Override
  public ResultTable run(FluidBench.Config config, Path outDir, PrintStream progress) throws IOException {
    FashionData data = FashionData.load(config.data(), 1, progress::println);
    var labels = data.test().data();
    ResultTable table = new ResultTable(
        "groups", "model", "mode", "devices", "accuracy", "vsStaticPoints", "vsStaticCi95", "target", "params", "macs",
        "bytesCrossing", "afterOneDeviceFails");
    List<String> failures = new ArrayList<>();
    for (int g : config.groups()) {
      Path dir = config.models().resolve(FluidRecipe.exportDir(g));
      Path file = dir.resolve(FluidManifest.FILE_NAME);
      if (!Files.isRegularFile(file)) {
        throw new IOException(file + " not found: train it with `shoal train fluid --groups " + g + " --out DIR` "
            + "or scripts/reproduce-fluid.sh");
      }
      FluidManifest m = FluidManifest.read(file);
      if (m.staticModel() == null) {
        throw new IOException(file + " has no Static model: train with the baselines (without --no-baselines)");
      }
      progress.println("bench fluid: G=" + g + ", evaluating on " + labels.count() + " test images ...");
      boolean[] staticCorrect = Accuracy.correct(logits(dir, m.staticModel().file(), data), labels);
      double staticAccuracy = Accuracy.fraction(staticCorrect);
      List<float[]> subLogits = new ArrayList<>();
      for (FluidManifest.SubNetwork s : m.subNetworks()) {
        float[] l = logits(dir, s.file(), data);
        subLogits.add(l);
        row(table, g, "fluid sub-network " + s.device(), "alone (high-throughput)", 1, l, staticCorrect, "-", s.params(),
            s.macs(), 0, "keeps answering if device " + s.device() + " survives", labels);
      }
      for (FluidManifest.CombinedMode c : m.combined()) {
        float[] l;
        try (CombinedModeRunner runner = new CombinedModeRunner(dir, c)) {
          l = runner.logits(data.test(), BATCH);
        }
        boolean full = c.devices() == g;
        double accuracy = Accuracy.of(l, labels);
        String target = full ? mark(accuracy >= staticAccuracy - WITHIN_STATIC_POINTS / 100) : "-";
        if (full && accuracy < staticAccuracy - WITHIN_STATIC_POINTS / 100) {
          failures.add(String.format(Locale.ROOT, "G=%d combined %.4f is more than %.1f points below Static's %.4f",
              g, accuracy, WITHIN_STATIC_POINTS, staticAccuracy));
        }
        row(table, g, "fluid combined 1.." + c.devices(), "combined (high-accuracy)", c.devices(), l, staticCorrect, target,
            c.params(), c.macs(), c.bytesCrossing(),
            full ? "survivors answer alone (or combined 1..k if device k+1.. fails)" : "-", labels);
      }
      long subParams = m.subNetworks().stream().mapToLong(FluidManifest.SubNetwork::params).sum();
      long subMacs = m.subNetworks().stream().mapToLong(FluidManifest.SubNetwork::macs).sum();
      row(table, g, "fluid sub-networks averaged", "softmax of each alone, averaged", g, averageSoftmax(subLogits, m.numClasses()),
          staticCorrect, "-", subParams, subMacs, (long) (g - 1) * m.numClasses() * 4, "survivors answer alone", labels);
      FluidManifest.WidthSplitModel s = m.staticModel();
      row(table, g, "static", "dense, split by width", s.devices(), logits(dir, s.file(), data), staticCorrect, "-",
          s.params(), s.macs(), s.bytesCrossing(), "stops", labels);
      for (FluidManifest.WidthSplitModel d : m.dynamic()) {
        row(table, g, "dynamic " + d.width(), "slimmable width " + d.width() + ", split by width", d.devices(),
            logits(dir, d.file(), data), staticCorrect, "-", d.params(), d.macs(), d.bytesCrossing(),
            d.devices() == 1 ? "stops if device 1 fails" : "stops if any of devices 1.." + d.devices() + " fails", labels);
      }
    }
    table.meta("testImages", labels.count())
        .meta("models", config.models().toString())
        .meta("vsStatic", "accuracy minus Static's (same G), in points, paired image by image; vsStaticCi95: half-width of"
            + " its 95% interval")
        .meta("bytesCrossing", "float32 bytes per image sent between devices: Fluid combined = the transfers in fluid.json;"
            + " Static and Dynamic split by width = all-gathers after layers 1 and 2 plus pooled features to the"
            + " classifier; the image sent to every device and the answer returned are not counted")
        .meta("target", "the combined network of all G devices within " + WITHIN_STATIC_POINTS + " points of Static")
        .meta("targetFailures", failures);
    table.print(progress);
    if (failures.isEmpty()) {
      progress.println("target: MET");
    } else {
      failures.forEach(f -> progress.println("target NOT met: " + f));
    }
    return table;
  }

  private static void row(ResultTable table, int g, String model, String mode, int devices, float[] logits,
      boolean[] staticCorrect, String target, long params, long macs, long bytes, String failure,
      dev.shoal.train.data.LabelledImages labels) {
    boolean[] correct = Accuracy.correct(logits, labels);
    PairedDifference d = PairedDifference.of(correct, staticCorrect);
    table.row(g, model, mode, devices, round4(Accuracy.fraction(correct)), round2(d.points()), round2(d.ci95Points()),
        target, params, macs, bytes, failure);
  }

  private static float[] logits(Path dir, String file, FashionData data) {
    return OnnxEvaluator.run(dir.resolve(file), data.test(), BATCH, 1).get(OnnxModels.LOGITS).floats();
  }

  /** The sum of the members' softmax outputs, {@code [count x classes]} (only its argmax is used). */
  static float[] averageSoftmax(List<float[]> logits, int classes) {
    float[] sum = new float[logits.get(0).length];
    for (float[] l : logits) {
      for (int row = 0; row < l.length / classes; row++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
          max = Math.max(max, l[row * classes + c]);
        }
        double z = 0;
        for (int c = 0; c < classes; c++) {
          z += Math.exp(l[row * classes + c] - max);
        }
        for (int c = 0; c < classes; c++) {
          sum[row * classes + c] += (float) (Math.exp(l[row * classes + c] - max) / z);
        }
      }
    }
    return sum;
  }

  private static String mark(boolean met) {
    return met ? "met" : "NOT met";
  }

  private static double round4(double v) {
    return Math.round(v * 1e4) / 1e4;
  }

  private static double round2(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
