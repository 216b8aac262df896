package dev.shoal.model.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestTest {

  @TempDir Path dir;

  private static final ModelInput INPUT =
      new ModelInput("input", List.of(-1L, 1L, 28L, 28L), 0.286f, 0.353f, "x = (pixel / 255 - 0.286) / 0.353");

  @Test
  void variantFamilyRoundTripsAndIgnoresUnknownFields() throws IOException {
    var m =
        new VariantFamilyManifest(
            1, "f", 10, INPUT, VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM,
            List.of(new VariantFamilyManifest.Variant("v28", "v28.onnx", 28, 0.35, 128, 40000, 2000000, 1.0, 3, "classes", "scores", 0.9)));
    Path file = dir.resolve("family.json");
    m.write(file);
    assertThat(VariantFamilyManifest.read(file)).isEqualTo(m);
    String withExtra = Files.readString(file).replaceFirst("\\{", "{\"addedLater\": 1,");
    Files.writeString(file, withExtra);
    assertThat(VariantFamilyManifest.read(file)).isEqualTo(m);
  }

  @Test
  void classParallelRoundTrips() throws IOException {
    var m =
        new ClassParallelManifest(
            1, "cp", 10, INPUT,
            List.of(new ClassParallelManifest.Member("cp0", "cp0.onnx", List.of(0, 1, 2), 10, 20, "logits")));
    Path file = dir.resolve("class-parallel.json");
    m.write(file);
    assertThat(ClassParallelManifest.read(file)).isEqualTo(m);
  }

  @Test
  void badManifestNamesTheFile() throws IOException {
    Path file = dir.resolve("family.json");
    Files.writeString(file, "{\"variants\": 3}");
    assertThatThrownBy(() -> VariantFamilyManifest.read(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(file.toString());
  }

  @Test
  void aMissingManifestSaysWhereARelativePathWasLookedFor() {
    Path relative = Path.of("no-such-models", "variants", "family.json");
    assertThatThrownBy(() -> VariantFamilyManifest.read(relative))
        .isInstanceOf(java.nio.file.NoSuchFileException.class)
        .hasMessageContaining("no variant family manifest there")
        .hasMessageContaining(relative.toAbsolutePath().toString());
    assertThatThrownBy(() -> VariantFamilyManifest.read(dir.resolve("family.json")))
        .hasMessageContaining(dir.resolve("family.json").toString())
        .hasMessageNotContaining("looked for");
  }
}
