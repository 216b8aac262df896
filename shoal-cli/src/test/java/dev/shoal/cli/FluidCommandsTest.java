package dev.shoal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.cli.ModelCommandsTest.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code shoal train fluid} refuses bad settings before reading data; {@code shoal bench fluid}
 * refuses an unknown section and says how to get missing models ({@code FluidBenchTest} runs the
 * bench end to end); {@code shoal serve --fluid} refuses an unknown mode before contacting anyone
 * ({@code FluidProcessTest} serves on real workers).
 */
class FluidCommandsTest {

  private static final String SAMPLE = "../shoal-train/src/test/resources/fashion-sample";

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
  void trainFluidNoBaselinesLeavesThemOut() {
    TrainCommand plain = new TrainCommand();
    new CommandLine(plain).parseArgs("fluid");
    assertThat(plain.fluid.settings(List.of(3)).baselines()).isTrue();
    TrainCommand none = new TrainCommand();
    new CommandLine(none).parseArgs("fluid", "--no-baselines");
    assertThat(none.fluid.settings(List.of(3)).baselines()).isFalse();
  }

  @Test
  void benchFluidRefusesAnUnknownSectionAndMissingModels() {
    Result bad = ModelCommandsTest.shoal("bench", "fluid", "--section", "speed", "--out", dir.toString());
    assertThat(bad.status()).isEqualTo(1);
    assertThat(bad.err()).contains("shoal bench fluid: unknown section 'speed', expected one of [accuracy, throughput, failure, auto]");

    Result missing = ModelCommandsTest.shoal("bench", "fluid", "--models", dir.resolve("none").toString(), "--data", SAMPLE,
        "--out", dir.toString());
    assertThat(missing.status()).isEqualTo(1);
    assertThat(missing.err()).contains("g2/fluid.json not found: train it with `shoal train fluid --groups 2 --out DIR`");
  }

  @Test
  void serveFluidRefusesAnUnknownMode() {
    Result r = ModelCommandsTest.shoal("serve", "--fluid", "../models/fashion/fluid/g2", "--mode", "fast",
        "--cluster", "none.yaml", "--credentials", "none");
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("--mode must be high-accuracy, high-throughput or auto, got 'fast'");
  }
}
