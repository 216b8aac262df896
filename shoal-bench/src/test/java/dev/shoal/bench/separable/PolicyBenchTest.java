package dev.shoal.bench.separable;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.bench.ResultTable;
import dev.shoal.train.separable.PolicySearchRecipe;
import dev.shoal.train.separable.SeparableData;
import dev.shoal.train.separable.SeparableRecipe;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy table end to end on a G = 2 supernet and reference trained for one epoch on the
 * shipped sample (250 training, 50 validation, 200 test images), searched with a budget of 4:
 * every separable row is compared with its own every-block baseline and with the non-separable
 * network, each difference computed from the accuracies the table itself measured; a copy of the
 * reference as {@code reference-copy.onnx} is a control row that scores as the reference does.
 */
class PolicyBenchTest {

  private static final Path SAMPLE = Path.of("../shoal-train/src/test/resources/fashion-sample");

  @TempDir Path dir;

  @Test
  void everyRowIsComparedWithTheEveryBlockBaselineAndTheNonSeparableNetwork() throws Exception {
    DjlSetup.configure(1);
    Path model = dir.resolve("g2");
    SeparableData data = SeparableData.load(SAMPLE, 50, Integer.MAX_VALUE, l -> {});
    SeparableRecipe.run(
        data,
        new SeparableRecipe.Settings(2, EnumSet.allOf(SeparableRecipe.Part.class), 1, 1,
            TrainConfig.standard(1, 3).withBatchSize(50)),
        model, l -> {});
    // A byte limit of the whole baseline, so that the small search surely finds a policy within it.
    PolicySearchRecipe.run(model, SAMPLE, new PolicySearchRecipe.Settings(List.of("evolution"), 4, 1.0, 50, 1, 0,
        Integer.MAX_VALUE, 0.05f, 3), model.resolve("search"), l -> {});

    java.nio.file.Files.copy(model.resolve("search/reference.onnx"), model.resolve("search/reference-copy.onnx"));
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    ResultTable table =
        PolicyBench.run(dir, SAMPLE, dir.resolve("results"), new PrintStream(printed, true, StandardCharsets.UTF_8));

    Map<String, Map<String, Object>> rows = new HashMap<>();
    List<String> columns = List.of("set", "groups", "model", "steps", "bytes_per_inference", "reduction_vs_baseline", "test_accuracy",
        "points_vs_every_block", "target_met_vs_every_block", "points_vs_non_separable", "target_met_vs_non_separable",
        "validation_accuracy", "policy");
    for (List<Object> row : table.rows()) {
      Map<String, Object> named = new HashMap<>();
      for (int c = 0; c < columns.size(); c++) {
        named.put(columns.get(c), row.get(c));
      }
      rows.put((String) named.get("model"), named);
    }
    assertThat(rows.values()).allSatisfy(row -> assertThat(row.get("set")).isEqualTo("search"));
    assertThat(rows).containsOnlyKeys("non-separable", "baseline", "searched-fp32", "searched", "non-separable copy");
    double reference = (double) rows.get("non-separable").get("test_accuracy");
    double baseline = (double) rows.get("baseline").get("test_accuracy");
    assertThat(rows.get("non-separable").get("points_vs_every_block")).isEqualTo("-");
    assertThat(rows.get("non-separable").get("points_vs_non_separable")).isEqualTo(0.0);
    assertThat(rows.get("non-separable copy").get("test_accuracy")).isEqualTo(reference);
    assertThat(rows.get("non-separable copy").get("points_vs_non_separable")).isEqualTo(0.0);
    assertThat(rows.get("baseline").get("points_vs_every_block")).isEqualTo(0.0);
    assertThat(rows.get("baseline").get("target_met_vs_every_block")).as("the baseline saves nothing").isEqualTo("no");
    for (String name : List.of("baseline", "searched-fp32", "searched")) {
      Map<String, Object> row = rows.get(name);
      double accuracy = (double) row.get("test_accuracy");
      assertThat((double) row.get("points_vs_every_block")).as(name).isCloseTo(100 * (accuracy - baseline),
          org.assertj.core.data.Offset.offset(0.01));
      assertThat((double) row.get("points_vs_non_separable")).as(name).isCloseTo(100 * (accuracy - reference),
          org.assertj.core.data.Offset.offset(0.01));
      boolean fewer = (double) row.get("reduction_vs_baseline") >= PolicyBench.TARGET_REDUCTION;
      assertThat(row.get("target_met_vs_every_block")).as(name)
          .isEqualTo(fewer && accuracy >= baseline - 0.01 - 1e-9 ? "yes" : "no");
      assertThat(row.get("target_met_vs_non_separable")).as(name)
          .isEqualTo(fewer && accuracy >= reference - 0.01 - 1e-9 ? "yes" : "no");
    }
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("points_vs_every_block");
  }
}
