package dev.shoal.train.fluid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.train.SampleData;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole Fluid recipe on the committed sample (300 training images, 2 epochs): every unit trains
 * and checkpoints, phase 2 leaves sub-network 1 exactly as phase 1 left it, the export and manifest
 * describe every model, and a rerun skips every finished unit.
 */
class FluidRecipeTest {

  @TempDir Path out;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void trainsEveryUnitFreezesEarlierGroupsExportsAndResumes() throws IOException {
    FashionData data = SampleData.load();
    TrainConfig config = TrainConfig.standard(2, 3).withBatchSize(50);
    FluidRecipe.Settings settings = new FluidRecipe.Settings(List.of(2), true);
    List<String> log = new ArrayList<>();
    FluidRecipe.run(data, settings, config, out, log::add);

    assertThat(log).anyMatch(l -> l.startsWith("fluid g2: combined, devices 1..2"));
    Path checkpoints = out.resolve(FluidRecipe.CHECKPOINTS);
    assertThat(TrainingPlan.read(checkpoints).finished().keySet())
        .containsExactly("static", "fluid-g2-phase1", "fluid-g2-phase2", "dynamic");
    assertGroupUnchanged(data, checkpoints);

    FluidManifest m = FluidManifest.read(out.resolve("g2").resolve(FluidManifest.FILE_NAME));
    assertThat(m.groups()).isEqualTo(2);
    assertThat(m.subNetworks()).extracting(FluidManifest.SubNetwork::file).containsExactly("sub1.onnx", "sub2.onnx");
    assertThat(m.combined()).hasSize(1);
    FluidManifest.CombinedMode both = m.combined().get(0);
    assertThat(both.stages()).extracting(FluidManifest.Stage::file)
        .containsExactly("stage1-features.onnx", "stage2-combined.onnx");
    assertThat(both.bytesCrossing()).isEqualTo(24 * 7 * 7 * 4 + 48 * 4);
    // combined mode runs both sub-networks' work plus the links and the combined head
    assertThat(both.macs()).isGreaterThan(m.subNetworks().get(0).macs() + m.subNetworks().get(1).macs());
    assertThat(m.staticModel().devices()).isEqualTo(2);
    assertThat(m.staticModel().macs()).isGreaterThan(both.macs());
    assertThat(m.dynamic()).extracting(FluidManifest.WidthSplitModel::width).containsExactly("1of2", "2of2");
    assertThat(m.dynamic().get(0).bytesCrossing()).isZero();
    for (String file : files(m)) {
      assertThat(out.resolve("g2").resolve(file)).isRegularFile();
    }
    assertThat(m.subNetworks().get(0).testAccuracy()).isBetween(0.0, 1.0);

    long before = Files.getLastModifiedTime(checkpoints.resolve("dynamic.params")).toMillis();
    List<String> rerun = new ArrayList<>();
    FluidRecipe.run(data, settings, config, out, rerun::add);
    assertThat(rerun.stream().filter(l -> l.endsWith("skipped"))).hasSize(4);
    assertThat(Files.getLastModifiedTime(checkpoints.resolve("dynamic.params")).toMillis()).isEqualTo(before);

    assertThatThrownBy(() -> FluidRecipe.run(data, settings, TrainConfig.standard(3, 3).withBatchSize(50), out, l -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("static was trained for 2 epochs");
  }

  /**
   * G = 3: phase 3 trains only what is new in it (group 3, the links into it, the full combined
   * mode's own blocks and head): sub-networks 1 and 2 and the combined mode of devices 1..2 are
   * exactly as phase 2 left them; the manifest's modes send nothing beyond the trunks and features.
   */
  @Test
  void threeGroupsKeepTheSmallerModeAndSendOnlyTrunksAndFeatures() throws IOException {
    FashionData data = SampleData.load();
    FluidRecipe.run(data, new FluidRecipe.Settings(List.of(3), false), TrainConfig.standard(1, 3).withBatchSize(50), out,
        l -> {});
    FluidLayout layout = FluidLayout.standard(data.rows(), data.cols(), data.numClasses(), 3);
    Path checkpoints = out.resolve(FluidRecipe.CHECKPOINTS);
    try (NDManager manager = NDManager.newBaseManager()) {
      FluidNet after2 = load(layout, checkpoints, 2, manager);
      FluidNet after3 = load(layout, checkpoints, 3, manager);
      List<ai.djl.nn.Block> kept = List.of(after2.trunk(1), after2.last(1), after2.head(1), after2.trunk(2),
          after2.last(2), after2.head(2), after2.cross(1, 2), after2.combinedHead(2));
      List<ai.djl.nn.Block> later = List.of(after3.trunk(1), after3.last(1), after3.head(1), after3.trunk(2),
          after3.last(2), after3.head(2), after3.cross(1, 2), after3.combinedHead(2));
      for (int i = 0; i < kept.size(); i++) {
        var before = kept.get(i).getParameters();
        var now = later.get(i).getParameters();
        for (int p = 0; p < before.size(); p++) {
          assertThat(now.get(p).getValue().getArray().toFloatArray()).as(before.get(p).getKey())
              .containsExactly(before.get(p).getValue().getArray().toFloatArray());
        }
      }
      assertThat(after3.trunk(3).getParameters().get(0).getValue().getArray().toFloatArray())
          .as("group 3 trains in phase 3")
          .isNotEqualTo(after2.trunk(3).getParameters().get(0).getValue().getArray().toFloatArray());
    }
    FluidManifest m = FluidManifest.read(out.resolve("g3").resolve(FluidManifest.FILE_NAME));
    assertThat(m.combined()).extracting(FluidManifest.CombinedMode::devices).containsExactly(2, 3);
    FluidManifest.CombinedMode all = m.combined().get(1);
    assertThat(all.transfers()).extracting(FluidManifest.Transfer::tensor)
        .containsExactlyInAnyOrder("trunk1", "trunk1", "trunk2", "features1", "features2");
    assertThat(all.bytesCrossing()).isEqualTo(3 * 16 * 7 * 7 * 4 + 2 * 32 * 4);
    assertThat(m.combined().get(0).bytesCrossing()).isEqualTo(16 * 7 * 7 * 4 + 32 * 4);
    for (String file : files(m)) {
      assertThat(out.resolve("g3").resolve(file)).isRegularFile();
    }
  }

  /** Every parameter of group 1 (running statistics included) is the same after phase 2 as after phase 1. */
  private static void assertGroupUnchanged(FashionData data, Path checkpoints) throws IOException {
    FluidLayout layout = FluidLayout.standard(data.rows(), data.cols(), data.numClasses(), 2);
    try (NDManager manager = NDManager.newBaseManager()) {
      FluidNet after1 = load(layout, checkpoints, 1, manager);
      FluidNet after2 = load(layout, checkpoints, 2, manager);
      int compared = 0;
      for (var block : List.of(after1.trunk(1), after1.last(1), after1.head(1))) {
        compared += block.getParameters().size();
      }
      Map<String, Parameter> later = new java.util.HashMap<>();
      after2.getParameters().forEach(p -> later.put(p.getKey(), p.getValue()));
      int same = 0;
      int changed = 0;
      for (var p : after1.getParameters()) {
        boolean equal = java.util.Arrays.equals(p.getValue().getArray().toFloatArray(), later.get(p.getKey()).getArray().toFloatArray());
        // the block's own name, not the full mode's copy of it (e.g. last1in2)
        if (p.getKey().matches("\\d+(trunk1|last1|head1)_.*")) {
          assertThat(equal).as(p.getKey()).isTrue();
          same++;
        } else if (p.getKey().matches("\\d+trunk2_.*") && !equal) {
          changed++;
        }
      }
      assertThat(same).isEqualTo(compared);
      assertThat(changed).as("group 2 trains in phase 2").isPositive();
      // the combined mode's own copy of group 1's last conv started from it and trained in phase 2
      assertThat(after2.last(1, 2)).isNotSameAs(after2.last(1));
      assertThat(after2.last(1, 2).getParameters().get(0).getValue().getArray().toFloatArray())
          .isNotEqualTo(after2.last(1).getParameters().get(0).getValue().getArray().toFloatArray());
    }
  }

  private static FluidNet load(FluidLayout layout, Path checkpoints, int phase, NDManager manager) throws IOException {
    FluidNet net = new FluidNet(layout, FluidRecipe.DESIGN);
    net.initialize(manager, DataType.FLOAT32, new Shape(1, 1, 28, 28));
    Weights.load(net, TrainingPlan.checkpoint(checkpoints, new TrainingPlan.FluidPhase(layout.groups(), phase)));
    return net;
  }

  private static List<String> files(FluidManifest m) {
    List<String> files = new ArrayList<>();
    m.subNetworks().forEach(s -> files.add(s.file()));
    m.combined().forEach(c -> c.stages().forEach(s -> files.add(s.file())));
    if (m.staticModel() != null) {
      files.add(m.staticModel().file());
    }
    m.dynamic().forEach(d -> files.add(d.file()));
    return files;
  }
}
