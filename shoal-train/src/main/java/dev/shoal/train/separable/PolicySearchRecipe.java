package dev.shoal.train.separable;

import dev.shoal.model.family.SeparableManifest;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.model.TensorData;
import dev.shoal.model.chart.LineChart;
import dev.shoal.train.recipes.Progress;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.Normalisation;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.separable.PolicySearch.Candidate;
import dev.shoal.train.separable.SeparableRecipe.SeparableTraining;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@code shoal search-policy}: loads a trained supernet, searches transmission policies on the
 * validation split (evolution and/or random search at the same budget), plots the Pareto fronts,
 * picks the most accurate policy within the byte limit, fine-tunes it, the same policy with every
 * codec at fp32 and the every-block baseline alike from the shared weights, exports each for the
 * devices and measures it on the full test set. Every evaluation is appended to
 * {@code evaluations.jsonl} and every fine-tune checkpoints, so a run started again skips finished
 * work.
 */
public final class PolicySearchRecipe {

  public static final String RESULTS = "policy-results.json";
  static final String EVALUATIONS = "evaluations.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private PolicySearchRecipe() {}

  /**
   * @param methods "evolution", "random" or both; the first one's choice is fine-tuned
   * @param maxByteShare the byte limit as a share of the baseline's (0.1: at least 90% fewer)
   * @param searchImages validation images each candidate is scored on (the first of the split)
   * @param finalists the best few within the limit re-scored on the whole validation split
   * @param fineTuneImages the first this many training images are the fine-tuning's
   */
  public record Settings(
      List<String> methods, int budget, double maxByteShare, int searchImages, int finalists, int fineTuneEpochs,
      int fineTuneImages, float fineTuneLearningRate, long seed) {
    public Settings {
      methods = List.copyOf(methods);
      for (String m : methods) {
        if (!m.equals("evolution") && !m.equals("random")) {
          throw new IllegalArgumentException("unknown search method '" + m + "', expected evolution or random");
        }
      }
      if (methods.isEmpty() || budget < 1 || !(maxByteShare > 0 && maxByteShare <= 1) || searchImages < 1
          || finalists < 1 || fineTuneEpochs < 0 || fineTuneImages < 1) {
        throw new IllegalArgumentException(
            "need a method, a budget >= 1, a byte share in (0, 1], search images >= 1, finalists >= 1 and "
                + "fine-tune epochs >= 0");
      }
    }
  }

  /**
   * One measured model of the results table: a policy's export directory (test accuracy of its
   * chained ONNX segments, codecs applied) or, with {@code policy} null, the non-separable
   * reference's ONNX file. {@code steps}: optimiser steps the weights were trained in all (a
   * fine-tuned policy's include the supernet's); null where not recorded (older results).
   */
  public record Measured(
      String name, String dir, long bytesPerInference, double reduction, double validationAccuracy,
      double testAccuracy, String policy, Long steps) {}

  /** {@value #RESULTS}: the searches' summaries and the measured policies. */
  public record Results(
      int groups, long baselineBytes, long maxBytes, Map<String, SearchSummary> searches, List<Measured> measured,
      double seconds) {}

  /** How one search did at its budget. */
  public record SearchSummary(
      int evaluations, int frontSize, double hypervolume, Double bestAccuracyWithinLimit, Long bestBytesWithinLimit,
      String bestPolicy) {}

  public static Results run(Path modelDir, Path dataDir, Settings settings, Path outDir, Consumer<String> log)
      throws IOException {
    long start = System.nanoTime();
    Files.createDirectories(outDir);
    SeparableTraining trained = SeparableTraining.read(modelDir);
    SeparableArchitecture arch = trained.architecture();
    SeparableData data = SeparableData.load(dataDir, trained.validationImages(), trained.trainImages(), log);
    BatchMaker searchSet =
        new BatchMaker(SeparableData.range(data.validation().data(), 0, Math.min(settings.searchImages(), data.validation().data().count())), Normalisation.FASHION_MNIST);
    long baselineBytes = TransmissionPolicy.baseline(arch).bytes(arch);
    long maxBytes = (long) Math.floor(baselineBytes * settings.maxByteShare());
    log.accept(String.format(
        "search: G=%d, %d exchange points, baseline %d bytes, limit %d bytes (%.0f%%), %d evaluations per method on %d "
            + "validation images",
        arch.groups(), arch.exchangePoints(), baselineBytes, maxBytes, 100 * settings.maxByteShare(), settings.budget(),
        searchSet.data().count()));

    Map<String, PolicySearch.Result> results = new LinkedHashMap<>();
    List<Measured> measured = new ArrayList<>();
    TrainConfig fineTune =
        new TrainConfig(
            Math.max(1, settings.fineTuneEpochs()), trained.supernet().config().batchSize(), settings.fineTuneLearningRate(),
            trained.supernet().config().momentum(), trained.supernet().config().weightDecay(),
            trained.supernet().config().labelSmoothing(), trained.supernet().config().augmentation(), settings.seed());
    try (SeparableTrainer supernet = new SeparableTrainer(new SeparableNet(arch), fineTune, data.train().data().count())) {
      supernet.loadWeights(modelDir.resolve(SeparableRecipe.SUPERNET_WEIGHTS));
      PolicySearch.Evaluator evaluator = cachedEvaluator(supernet, searchSet, data.train(), outDir.resolve(EVALUATIONS));
      PolicySpace space = new PolicySpace(arch, List.of(LinkCodec.values()));
      for (String method : settings.methods()) {
        PolicySearch.Result r =
            method.equals("evolution")
                ? PolicySearch.evolution(space, settings.budget(), settings.seed(), maxBytes, evaluator, log)
                : PolicySearch.random(space, settings.budget(), settings.seed(), maxBytes, evaluator, log);
        results.put(method, r);
        JSON.writeValue(outDir.resolve("search-" + method + ".json").toFile(), candidatesJson(r));
      }
      writeFronts(results, baselineBytes, outDir);

      // Finalists: the best few within the limit of the first method, re-scored on all validation images.
      PolicySearch.Result main = results.get(settings.methods().get(0));
      List<Candidate> finalists =
          main.evaluated().stream()
              .filter(c -> c.bytes() <= maxBytes)
              .sorted(Comparator.comparingDouble(Candidate::accuracy).reversed())
              .limit(settings.finalists())
              .toList();
      if (finalists.isEmpty()) {
        throw new IllegalStateException(
            "the search found no policy within " + maxBytes + " bytes; raise --budget or --max-bytes-share");
      }
      Candidate chosen = null;
      double chosenVal = -1;
      for (Candidate c : finalists) {
        supernet.net().usePolicy(c.policy());
        supernet.recalibrate(data.train(), SeparableTrainer.CALIBRATION_IMAGES);
        double val = Accuracy.of(supernet.logits(data.validation()), data.validation().data());
        log.accept(String.format("finalist %s: %.4f on all %d validation images (search %.4f)", c.policy().summary(), val,
            data.validation().data().count(), c.accuracy()));
        if (val > chosenVal) {
          chosen = c;
          chosenVal = val;
        }
      }
      log.accept("chosen: " + chosen.policy().summary() + " at " + chosen.bytes() + " bytes");
      chosen.policy().write(outDir.resolve("policy.json"));

      BatchMaker fineTuneSet =
          new BatchMaker(
              SeparableData.range(data.train().data(), 0, Math.min(settings.fineTuneImages(), data.train().data().count())),
              Normalisation.FASHION_MNIST);
      // Every measured policy is fine-tuned alike from the shared weights: the searched policy, the
      // same with every link at fp32 (the search's share apart from the codecs'), and the baseline
      // (last, as the least needed; listed first). The supernet's weights serve every policy and fit
      // none (docs/separable.md, "What the gap is made of").
      TransmissionPolicy fp32 = chosen.policy().withCodec(LinkCodec.FP32);
      Measured searchedFp32 =
          measure("searched-fp32", fp32, settings.fineTuneEpochs(), modelDir, data, fineTuneSet, fineTune, outDir,
              baselineBytes, log);
      measured.add(searchedFp32);
      measured.add(
          fp32.equals(chosen.policy())
              ? new Measured("searched", searchedFp32.dir(), searchedFp32.bytesPerInference(), searchedFp32.reduction(),
                  searchedFp32.validationAccuracy(), searchedFp32.testAccuracy(), searchedFp32.policy(),
                  searchedFp32.steps())
              : measure("searched", chosen.policy(), settings.fineTuneEpochs(), modelDir, data, fineTuneSet, fineTune,
                  outDir, baselineBytes, log));
      measured.add(
          0,
          measure("baseline", TransmissionPolicy.baseline(arch), settings.fineTuneEpochs(), modelDir, data, fineTuneSet,
              fineTune, outDir, baselineBytes, log));
    }
    Path referenceModel = modelDir.resolve(SeparableRecipe.REFERENCE_MODEL);
    if (Files.isRegularFile(referenceModel) && trained.reference() != null) {
      TensorData referenceLogits = OnnxEvaluator.run(referenceModel, data.test(), 500, 1).get(OnnxModels.LOGITS);
      double referenceTest = Accuracy.of(referenceLogits.floats(), data.test().data());
      Files.copy(referenceModel, outDir.resolve(SeparableRecipe.REFERENCE_MODEL), StandardCopyOption.REPLACE_EXISTING);
      measured.add(
          0,
          new Measured(
              "non-separable", SeparableRecipe.REFERENCE_MODEL, 0, Double.NaN, trained.reference().validationAccuracy(),
              referenceTest, null, trained.reference().steps()));
      log.accept(String.format("non-separable reference: test %.4f", referenceTest));
    } else {
      log.accept("no trained reference in " + modelDir + " yet: the table has no non-separable row (train it with "
          + "`shoal train separable --part REFERENCE`, then run this again: finished work is kept; or copy a trained "
          + "reference.onnx, which does not depend on G, into " + outDir + ": `shoal bench policy` reads it there)");
    }
    Map<String, SearchSummary> summaries = new LinkedHashMap<>();
    for (var e : results.entrySet()) {
      PolicySearch.Result r = e.getValue();
      Optional<Candidate> best = r.best();
      summaries.put(
          e.getKey(),
          new SearchSummary(
              r.evaluated().size(), r.front().size(), PolicySearch.hypervolume(r.evaluated(), baselineBytes),
              best.map(Candidate::accuracy).orElse(null), best.map(Candidate::bytes).orElse(null),
              best.map(b -> b.policy().summary()).orElse(null)));
    }
    Results out = new Results(arch.groups(), baselineBytes, maxBytes, summaries, measured, (System.nanoTime() - start) / 1e9);
    JSON.writeValue(outDir.resolve(RESULTS).toFile(), out);
    return out;
  }

  /**
   * Fine-tunes {@code policy} from the supernet's weights for {@code epochs} (0: as they are),
   * exports it, and scores it on the validation split (DJL) and the test set (the exported
   * segments chained, codecs applied).
   */
  private static Measured measure(
      String name, TransmissionPolicy policy, int epochs, Path modelDir, SeparableData data, BatchMaker fineTuneSet,
      TrainConfig fineTune, Path outDir, long baselineBytes, Consumer<String> log) throws IOException {
    SeparableTraining trained = SeparableTraining.read(modelDir);
    try (SeparableTrainer trainer =
        new SeparableTrainer(new SeparableNet(trained.architecture()), fineTune, fineTuneSet.data().count())) {
      trainer.loadWeights(modelDir.resolve(SeparableRecipe.SUPERNET_WEIGHTS));
      trainer.net().usePolicy(policy);
      trainer.recalibrate(data.train(), SeparableTrainer.CALIBRATION_IMAGES);
      long steps = trained.supernet().steps();
      if (epochs > 0) {
        steps += SeparableTrainer.steps(
            trainer.fit(fineTuneSet, Optional.empty(), outDir.resolve("checkpoints").resolve(name),
                Progress.epochs("fine-tune " + name, fineTune, log)),
            fineTune.batchSize());
      }
      return exportAndMeasure(name, trainer, data, outDir, baselineBytes, steps, log);
    }
  }

  /**
   * Exports {@code trainer}'s network under its policy to {@code policies/<name>} of {@code outDir}
   * and scores it on the validation split (DJL) and the test set (the exported segments chained,
   * codecs applied): the row every measured policy gets, however it was trained.
   */
  static Measured exportAndMeasure(
      String name, SeparableTrainer trainer, SeparableData data, Path outDir, long baselineBytes, long steps,
      Consumer<String> log) throws IOException {
    Path dir = outDir.resolve("policies").resolve(name);
    double val = Accuracy.of(trainer.logits(data.validation()), data.validation().data());
    SeparableManifest manifest = SeparableExport.write(trainer.net(), modelInput(data), dir);
    double test;
    try (SegmentChain chain = new SegmentChain(dir)) {
      test = Accuracy.of(chain.logits(data.test(), 500), data.test().data());
    }
    long bytes = manifest.bytesPerInference();
    Measured m =
        new Measured(name, outDir.relativize(dir).toString(), bytes, 1 - (double) bytes / baselineBytes, val, test,
            trainer.net().policy().summary(), steps);
    log.accept(String.format(
        "%s: %d bytes (%.1f%% fewer than the baseline), %d steps, validation %.4f, test %.4f (ONNX segments chained, "
            + "codecs applied) -> %s",
        name, bytes, 100 * m.reduction(), steps, val, test, dir));
    return m;
  }

  private static dev.shoal.model.family.ModelInput modelInput(SeparableData data) {
    Normalisation n = data.train().normalisation();
    return new dev.shoal.model.family.ModelInput(
        OnnxModels.INPUT, List.of(-1L, 1L, (long) data.rows(), (long) data.cols()), n.mean(), n.std(), n.formula());
  }

  /** Scores a policy on {@code images}, remembering every score in {@code file} across runs. */
  private static PolicySearch.Evaluator cachedEvaluator(
      SeparableTrainer supernet, BatchMaker images, BatchMaker calibration, Path file) throws IOException {
    Map<String, Double> cache = new LinkedHashMap<>();
    if (Files.isRegularFile(file)) {
      for (String line : Files.readAllLines(file)) {
        if (!line.isBlank()) {
          var node = JSON.readTree(line);
          cache.put(TransmissionPolicy.parse(node.get("policy").toString()).toJson(), node.get("accuracy").doubleValue());
        }
      }
    }
    return policy -> {
      String key = policy.toJson();
      Double known = cache.get(key);
      if (known != null) {
        return known;
      }
      supernet.net().usePolicy(policy);
      supernet.recalibrate(calibration, SeparableTrainer.CALIBRATION_IMAGES);
      double accuracy = Accuracy.of(supernet.logits(images), images.data());
      cache.put(key, accuracy);
      try {
        var line = JSON.createObjectNode();
        line.set("policy", JSON.readTree(key));
        line.put("accuracy", accuracy);
        Files.writeString(file, new ObjectMapper().writeValueAsString(line) + "\n", StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return accuracy;
    };
  }

  private static Object candidatesJson(PolicySearch.Result r) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Candidate c : r.evaluated()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("evaluation", c.evaluation());
      row.put("bytes", c.bytes());
      row.put("accuracy", c.accuracy());
      row.put("onFront", r.front().contains(c));
      row.put("policy", c.policy().summary());
      rows.add(row);
    }
    return Map.of("method", r.method(), "maxBytes", r.maxBytes(), "candidates", rows);
  }

  /** pareto.csv (every front point) and pareto.svg / .png (bytes vs validation accuracy). */
  private static void writeFronts(Map<String, PolicySearch.Result> results, long baselineBytes, Path outDir)
      throws IOException {
    StringBuilder csv = new StringBuilder("method,bytes,reduction,validation_accuracy,policy\n");
    LineChart chart =
        new LineChart(
            "Pareto fronts of the transmission-policy search", "kilobytes per inference", "validation accuracy", null);
    for (var e : results.entrySet()) {
      List<Candidate> front = e.getValue().front();
      double[] x = new double[front.size()];
      double[] y = new double[front.size()];
      for (int i = 0; i < front.size(); i++) {
        Candidate c = front.get(i);
        x[i] = c.bytes() / 1000.0;
        y[i] = c.accuracy();
        csv.append(String.format(java.util.Locale.ROOT, "%s,%d,%.4f,%.4f,\"%s\"%n", e.getKey(), c.bytes(),
            1 - (double) c.bytes() / baselineBytes, c.accuracy(), c.policy().summary()));
      }
      chart.add(e.getKey() + " (" + e.getValue().evaluated().size() + " evaluations)", x, y, LineChart.Axis.LEFT);
    }
    Files.writeString(outDir.resolve("pareto.csv"), csv);
    chart.writeSvg(outDir.resolve("pareto.svg"), 800, 500);
    chart.writePng(outDir.resolve("pareto.png"), 800, 500);
  }
}
