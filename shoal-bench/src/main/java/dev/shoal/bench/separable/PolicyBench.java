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
 * separable ones chained device by device, codecs applied to every exchanged chunk). Each row's
 * accuracy is compared with the same G's every-block baseline (the design target:
 * at least 90% fewer bytes than that baseline for at most one point) and with the non-separable
 * network (the stricter target, and what a user also wants). A file
 * {@code reference-<label>.onnx} beside the search's results is another non-separable network
 * (e.g. one trained as many steps as a fine-tuned policy): it gets a control row of its own,
 * "non-separable <label>", compared with the reference like every other row. A policy trained
 * alone ({@code shoal train separable --policy}) is a row of the results like the fine-tuned ones.
 * Each row names its set (the search directory: two sets of one G, e.g. two widths, stay apart)
 * and prints the optimiser steps its weights were trained, where the results record them (a
 * fine-tuned policy's count the supernet's; a control file's are not recorded).
 */
public final class PolicyBench {

  /** The target: at least 90% fewer bytes than the every-block baseline ... */
  public static final double TARGET_REDUCTION = 0.90;
  /** ... for at most one point of accuracy below the compared network. */
  public static final double TARGET_ACCURACY_DROP = 0.01;
  /** The names search-policy gives the every-block baseline's and the reference's rows. */
  static final String BASELINE = "baseline";
  static final String REFERENCE = "non-separable";
  /** Prefix and suffix of a control network's file beside the reference. */
  private static final String CONTROL_PREFIX = "reference-";
  private static final String CONTROL_SUFFIX = ".onnx";

  private PolicyBench() {}

  public static ResultTable run(Path models, Path data, Path out, PrintStream log) throws IOException {
    List<Path> dirs = searchDirs(models);
    BatchMaker test = new BatchMaker(LabelledImages.load(data, Split.TEST), Normalisation.FASHION_MNIST);
    ResultTable table =
        new ResultTable(
            "set", "groups", "model", "steps", "bytes_per_inference", "reduction_vs_baseline", "test_accuracy",
            "points_vs_every_block", "target_met_vs_every_block", "points_vs_non_separable",
            "target_met_vs_non_separable", "validation_accuracy", "policy");
    table.meta("testImages", test.data().count());
    table.meta("targetReduction", TARGET_REDUCTION);
    table.meta("targetAccuracyDropPoints", 100 * TARGET_ACCURACY_DROP);
    ObjectMapper json = new ObjectMapper();
    for (Path dir : dirs) {
      var results = json.readValue(dir.resolve(PolicySearchRecipe.RESULTS).toFile(), PolicySearchRecipe.Results.class);
      List<Measured> rows = new ArrayList<>(results.measured());
      if (rows.stream().allMatch(m -> m.policy() != null) && Files.isRegularFile(dir.resolve(SeparableRecipe.REFERENCE_MODEL))) {
        // The reference was trained after the search ran (`shoal train separable --part REFERENCE`).
        rows.add(0, new Measured(REFERENCE, SeparableRecipe.REFERENCE_MODEL, 0, Double.NaN, Double.NaN, Double.NaN, null, null));
      }
      rows.addAll(controls(dir));
      double[] accuracies = new double[rows.size()];
      double reference = Double.NaN;
      double baseline = Double.NaN;
      for (int i = 0; i < rows.size(); i++) {
        Measured m = rows.get(i);
        Path file = dir.resolve(m.dir());
        if (m.policy() == null) {
          accuracies[i] = Accuracy.of(OnnxEvaluator.run(file, test, 500, 1).get(OnnxModels.LOGITS).floats(), test.data());
        } else {
          try (SegmentChain chain = new SegmentChain(file)) {
            accuracies[i] = Accuracy.of(chain.logits(test, 500), test.data());
          }
        }
        if (m.name().equals(BASELINE)) {
          baseline = accuracies[i];
        } else if (m.name().equals(REFERENCE)) {
          reference = accuracies[i];
        }
        log.printf(Locale.ROOT, "G=%d %-14s measured %.4f on %d test images%n", results.groups(), m.name(), accuracies[i],
            test.data().count());
      }
      Long searchedFp32Bytes = null;
      Long searchedBytes = null;
      for (int i = 0; i < rows.size(); i++) {
        Measured m = rows.get(i);
        boolean separable = m.policy() != null;
        table.row(
            dir.getFileName().toString(), results.groups(), m.name(), m.steps() == null ? "-" : (Object) m.steps(),
            separable ? (Object) m.bytesPerInference() : "-",
            separable ? (Object) round(m.reduction(), 4) : "-", round(accuracies[i], 4),
            separable ? points(accuracies[i], baseline) : "-", separable ? met(m, accuracies[i], baseline) : "-",
            points(accuracies[i], reference), separable ? met(m, accuracies[i], reference) : "-",
            Double.isNaN(m.validationAccuracy()) ? "-" : (Object) round(m.validationAccuracy(), 4),
            separable ? m.policy() : "-");
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

  /** A row for every {@code reference-<label>.onnx} in {@code dir}, by file name. */
  private static List<Measured> controls(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(f -> f.getFileName().toString())
          .filter(n -> n.startsWith(CONTROL_PREFIX) && n.endsWith(CONTROL_SUFFIX))
          .sorted()
          .map(n -> new Measured(REFERENCE + " " + n.substring(CONTROL_PREFIX.length(), n.length() - CONTROL_SUFFIX.length()),
              n, 0, Double.NaN, Double.NaN, Double.NaN, null, null))
          .toList();
    }
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

  /** Accuracy points of {@code accuracy} against {@code compared}; "-" when that network was not measured. */
  private static Object points(double accuracy, double compared) {
    return Double.isNaN(compared) ? "-" : round(100 * (accuracy - compared), 2);
  }

  /** Whether a separable row meets the target against {@code compared}; "-" when that was not measured. */
  private static Object met(Measured m, double accuracy, double compared) {
    if (Double.isNaN(compared)) {
      return "-";
    }
    return m.reduction() >= TARGET_REDUCTION && compared - accuracy <= TARGET_ACCURACY_DROP + 1e-12 ? "yes" : "no";
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
