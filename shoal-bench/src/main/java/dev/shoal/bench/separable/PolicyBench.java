package dev.shoal.bench.separable;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.bench.ResultTable;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Normalisation;
import dev.shoal.train.data.Split;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.separable.PolicySearchRecipe;
import dev.shoal.train.separable.PolicySearchRecipe.Measured;
import dev.shoal.train.separable.SegmentChain;
import dev.shoal.train.separable.SeparableRecipe;
import dev.shoal.train.train.Accuracy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The accuracy table of issue 14: for every searched separable network under {@code models} (a
 * directory with {@value PolicySearchRecipe#RESULTS}, or one holding such directories), the
 * non-separable reference, the separable baseline exchanging at every block, and the searched
 * policy with fp32 links and with its codecs — bytes per inference, reduction against the
 * baseline, and accuracy on the full test set, measured here from the exported ONNX files (the
 * separable ones chained device by device, codecs applied to every exchanged chunk).
 */
public final class PolicyBench {

  /** The target: at least 90% fewer bytes than the baseline ... */
  public static final double TARGET_REDUCTION = 0.90;
  /** ... for at most one point of accuracy below the non-separable network. */
  public static final double TARGET_ACCURACY_DROP = 0.01;

  private PolicyBench() {}

  public static ResultTable run(Path models, Path data, Path out, PrintStream log) throws IOException {
    List<Path> dirs = searchDirs(models);
    BatchMaker test = new BatchMaker(LabelledImages.load(data, Split.TEST), Normalisation.FASHION_MNIST);
    ResultTable table =
        new ResultTable(
            "groups", "model", "bytes_per_inference", "reduction_vs_baseline", "test_accuracy",
            "points_vs_non_separable", "target_met", "validation_accuracy", "policy");
    table.meta("testImages", test.data().count());
    table.meta("targetReduction", TARGET_REDUCTION);
    table.meta("targetAccuracyDropPoints", 100 * TARGET_ACCURACY_DROP);
    ObjectMapper json = new ObjectMapper();
    for (Path dir : dirs) {
      var results = json.readValue(dir.resolve(PolicySearchRecipe.RESULTS).toFile(), PolicySearchRecipe.Results.class);
      List<Measured> rows = new ArrayList<>(results.measured());
      if (rows.stream().allMatch(m -> m.policy() != null) && Files.isRegularFile(dir.resolve(SeparableRecipe.REFERENCE_MODEL))) {
        // The reference was trained after the search ran (`shoal train separable --part REFERENCE`).
        rows.add(0, new Measured("non-separable", SeparableRecipe.REFERENCE_MODEL, 0, Double.NaN, Double.NaN, Double.NaN, null));
      }
      double reference = Double.NaN;
      Long searchedFp32Bytes = null;
      Long searchedBytes = null;
      for (Measured m : rows) {
        Path file = dir.resolve(m.dir());
        double accuracy;
        if (m.policy() == null) {
          accuracy = Accuracy.of(OnnxEvaluator.run(file, test, 500, 1).get(OnnxModels.LOGITS).floats(), test.data());
          reference = accuracy;
        } else {
          try (SegmentChain chain = new SegmentChain(file)) {
            accuracy = Accuracy.of(chain.logits(test, 500), test.data());
          }
        }
        boolean separable = m.policy() != null;
        double drop = reference - accuracy;
        boolean met = separable && m.reduction() >= TARGET_REDUCTION && drop <= TARGET_ACCURACY_DROP + 1e-12;
        table.row(
            results.groups(), m.name(), separable ? (Object) m.bytesPerInference() : "-",
            separable ? (Object) round(m.reduction(), 4) : "-", round(accuracy, 4), round(-100 * drop, 2),
            separable ? (met ? "yes" : "no") : "-", Double.isNaN(m.validationAccuracy()) ? "-" : (Object) round(m.validationAccuracy(), 4),
            separable ? m.policy() : "-");
        log.printf(Locale.ROOT, "G=%d %-14s measured %.4f on %d test images%n", results.groups(), m.name(), accuracy,
            test.data().count());
        if (m.name().equals("searched-fp32")) {
          searchedFp32Bytes = m.bytesPerInference();
        } else if (m.name().equals("searched")) {
          searchedBytes = m.bytesPerInference();
        }
      }
      if (searchedFp32Bytes != null && searchedBytes != null) {
        // The two levers apart: where/what to send (the search) and how to encode it (the codecs).
        table.meta("g" + results.groups() + "SearchShare", round(1 - (double) searchedFp32Bytes / results.baselineBytes(), 4));
        table.meta("g" + results.groups() + "CodecShareOfSearched", round(1 - (double) searchedBytes / searchedFp32Bytes, 4));
      }
      results.searches().forEach((method, s) -> table.meta("g" + results.groups() + "Search_" + method, s));
    }
    log.println();
    table.print(log);
    Files.createDirectories(out);
    table.writeCsv(out.resolve("policy.csv"));
    table.writeJson(out.resolve("policy.json"));
    log.println("-> " + out.resolve("policy.csv") + ", " + out.resolve("policy.json"));
    return table;
  }

  private static List<Path> searchDirs(Path models) throws IOException {
    if (Files.isRegularFile(models.resolve(PolicySearchRecipe.RESULTS))) {
      return List.of(models);
    }
    if (!Files.isDirectory(models)) {
      throw new IOException(models + ": no such directory");
    }
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> s = Files.walk(models, 3)) {
      s.filter(p -> p.getFileName().toString().equals(PolicySearchRecipe.RESULTS)).map(Path::getParent).sorted().forEach(dirs::add);
    }
    if (dirs.isEmpty()) {
      throw new IOException(models + ": no " + PolicySearchRecipe.RESULTS + " here or below (run `shoal search-policy` first)");
    }
    return dirs;
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
