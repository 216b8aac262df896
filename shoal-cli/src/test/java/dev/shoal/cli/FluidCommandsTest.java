package dev.shoal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.cli.ModelCommandsTest.Result;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code shoal train fluid} refuses bad settings before reading data; {@code shoal bench fluid}
 * measures the committed Fluid models (on the shipped sample's 200 test images) and refuses an
 * unknown section.
 */
class FluidCommandsTest {

  private static final String MODELS = "../models/fashion/fluid";
  private static final String SAMPLE = "../shoal-train/src/test/resources/fashion-sample";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void trainFluidRefusesBadGroupCountsBeforeWritingAnything() {
    Path out = dir.resolve("fluid");
    for (String groups : List.of("1", "2,5")) {
      Result r = ModelCommandsTest.shoal("train", "fluid", "--groups", groups, "--data", "/nonexistent", "--out", out.toString());
      assertThat(r.status()).isEqualTo(1);
      assertThat(r.err()).contains("shoal train: a Fluid network needs 2 to 4 groups, got " + groups.substring(groups.length() - 1));
      assertThat(out).doesNotExist();
    }
  }

  @Test
  void benchFluidHasEveryModelOfEachGroupCount() throws Exception {
    Result r = ModelCommandsTest.shoal("bench", "fluid", "--models", MODELS, "--data", SAMPLE, "--out", dir.toString());
    assertThat(r.status()).as(r.err()).isZero();
    List<String> rows = new ArrayList<>();
    for (JsonNode row : JSON.readTree(dir.resolve("accuracy.json").toFile()).get("rows")) {
      rows.add(row.get("groups").asInt() + " " + row.get("model").asText());
      assertThat(row.get("accuracy").asDouble()).isBetween(0.0, 1.0);
    }
    assertThat(rows).containsExactly(
        "2 fluid sub-network 1", "2 fluid sub-network 2", "2 fluid combined 1..2", "2 fluid sub-networks averaged",
        "2 static", "2 dynamic 1of2", "2 dynamic 2of2",
        "3 fluid sub-network 1", "3 fluid sub-network 2", "3 fluid sub-network 3", "3 fluid combined 1..2",
        "3 fluid combined 1..3", "3 fluid sub-networks averaged", "3 static", "3 dynamic 1of3", "3 dynamic 2of3",
        "3 dynamic 3of3");
    assertThat(dir.resolve("accuracy.csv")).isNotEmptyFile();

    Result bad = ModelCommandsTest.shoal("bench", "fluid", "--models", MODELS, "--section", "throughput", "--out", dir.toString());
    assertThat(bad.status()).isEqualTo(1);
    assertThat(bad.err()).contains("shoal bench fluid: unknown section 'throughput', expected one of [accuracy]");
  }
}
