package dev.shoal.bench.separable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.train.separable.PolicySearchRecipe.Measured;
import dev.shoal.train.separable.PolicySearchRecipe.Results;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which export `shoal bench widthpar --searched/--baseline NAME` serves: the row of that name, or a clear error. */
class ServedRowTest {
  private static final Path FILE = Path.of("search/policy-results.json");
  private static final Results RESULTS = new Results(2, 1000, 100, Map.of(), List.of(
      new Measured("baseline", "policies/baseline", 1000, 0, 0.8, 0.8, "[1, 0]@8/8:fp32", 860L),
      new Measured("searched", "policies/searched", 90, 0.91, 0.8, 0.8, "[1, 0]@1/8:int8", 860L),
      new Measured("searched-alone-4-epochs", "policies/searched-alone-4-epochs", 90, 0.91, 0.85, 0.85,
          "[1, 0]@1/8:int8", 1720L),
      new Measured("reference", "reference.onnx", 0, Double.NaN, Double.NaN, 0.86, null, 860L)), 0);

  @Test
  void theNamedRowsExportIsServed() {
    assertThat(WidthParallelBench.exportOf(RESULTS, "searched-alone-4-epochs", FILE))
        .isEqualTo("policies/searched-alone-4-epochs");
    assertThat(WidthParallelBench.exportOf(RESULTS, "baseline", FILE)).isEqualTo("policies/baseline");
  }

  @Test
  void aRowThatIsMissingOrHasNoPolicyIsRefusedByName() {
    assertThatThrownBy(() -> WidthParallelBench.exportOf(RESULTS, "searched-alone-8-epochs", FILE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("records no 'searched-alone-8-epochs' policy")
        .hasMessageContaining(FILE.toString());
    assertThatThrownBy(() -> WidthParallelBench.exportOf(RESULTS, "reference", FILE))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
