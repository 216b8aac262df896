package dev.shoal.bench.fluid;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.train.fluid.FluidRecipe;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The accuracy section end to end on a Fluid G = 2 set trained for one epoch on the shipped sample
 * (300 training images; 200 test images): one row per model and mode, sizes and bytes from the
 * manifest, accuracies in [0, 1], Static's paired difference to itself zero.
 */
class FluidBenchTest {

  private static final Path SAMPLE = Path.of("../shoal-train/src/test/resources/fashion-sample");

  @TempDir Path dir;

  @Test
  void accuracySectionHasEveryModelOfTheSet() throws Exception {
    DjlSetup.configure(1);
    FashionData data = FashionData.load(SAMPLE, Integer.MAX_VALUE, l -> {});
    Path models = dir.resolve("models");
    FluidRecipe.run(data, new FluidRecipe.Settings(List.of(2), true), TrainConfig.standard(1, 3).withBatchSize(50),
        models, l -> {});
    Path out = dir.resolve("results");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    FluidBench.run(new FluidBench.Config(models, List.of(2), SAMPLE), List.of("accuracy"), out,
        new PrintStream(printed, true, StandardCharsets.UTF_8));

    List<String> rows = new ArrayList<>();
    for (JsonNode row : new ObjectMapper().readTree(out.resolve("accuracy.json").toFile()).get("rows")) {
      rows.add(row.get("model").asText());
      assertThat(row.get("accuracy").asDouble()).isBetween(0.0, 1.0);
      if (row.get("model").asText().equals("static")) {
        assertThat(row.get("vsStaticPoints").asDouble()).isZero();
        assertThat(row.get("bytesCrossing").asLong()).isEqualTo(24 * 196 * 4 + 48 * 49 * 4 + 48 * 4);
      }
      if (row.get("model").asText().startsWith("fluid sub-network ")) {
        assertThat(row.get("bytesCrossing").asLong()).isZero();
      }
    }
    assertThat(rows).containsExactly("fluid sub-network 1", "fluid sub-network 2", "fluid combined 1..2",
        "fluid sub-networks averaged", "static", "dynamic 1of2", "dynamic 2of2");
    assertThat(out.resolve("accuracy.csv")).isNotEmptyFile();
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("fluid combined 1..2").containsPattern("target(: MET| NOT met: G=2 combined)");
  }
}
