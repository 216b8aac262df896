package dev.shoal.train.fluid;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.train.DjlSetup;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported ONNX files compute what the DJL networks compute (random weights and batch-norm
 * statistics, random images): each Fluid sub-network alone, each combined mode's stages chained as
 * the transfers carry them, Static, and every Dynamic width.
 */
class FluidExportTest {

  private static final int N = 4;
  private static final double TOLERANCE = 1e-4;
  private static final FluidLayout LAYOUT = new FluidLayout(12, 12, 5, 6, 12, 12, 3);

  @TempDir Path dir;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void fluidSubNetworksAndChainedCombinedStagesMatchDjl() throws Exception {
    assertExportMatchesDjl(LAYOUT, FluidNet.Design.PLAIN, dir.resolve("plain"));
  }

  /**
   * With every mode's own links and a mix conv, every mode's stages still compute the DJL network:
   * the 4-group layout has a features stage that differs between modes 1..3 and 1..4.
   */
  @Test
  void ownLinksAndMixExportEveryModeAsDjlComputesIt() throws Exception {
    FluidNet.Design design = new FluidNet.Design(true, true, 4);
    assertExportMatchesDjl(LAYOUT, design, dir.resolve("g3"));
    assertExportMatchesDjl(new FluidLayout(12, 12, 5, 8, 16, 16, 4), design, dir.resolve("g4"));
    assertThat(FluidExport.featuresFile(design, 4, 2, 3)).isEqualTo("stage2-features-1to3.onnx");
    assertThat(FluidExport.featuresFile(design, 4, 2, 4)).isEqualTo("stage2-features.onnx");
    assertThat(FluidExport.featuresFile(design, 4, 1, 3)).isEqualTo("stage1-features-1to3.onnx");
  }

  private static void assertExportMatchesDjl(FluidLayout layout, FluidNet.Design design, Path dir) throws Exception {
    java.nio.file.Files.createDirectories(dir);
    int groups = layout.groups();
    try (NDManager m = NDManager.newBaseManager()) {
      FluidNet net = new FluidNet(layout, design);
      net.initialize(m, DataType.FLOAT32, new Shape(N, 1, 12, 12));
      randomise(net, 1);
      float[] images = images(2);
      TensorData input = TensorData.ofFloats(OnnxModels.INPUT, new long[] {N, 1, 12, 12}, images);
      for (int k = 1; k <= groups; k++) {
        net.setPhase(k);
        NDList djl = net.forward(new ParameterStore(m, false), new NDList(m.create(images, new Shape(N, 1, 12, 12))), false);
        Path sub = dir.resolve(FluidExport.subFile(k));
        OnnxModelIO.write(FluidExport.subNetwork(net, k), sub);
        assertClose(run(sub, Map.of(OnnxModels.INPUT, input)), djl.get(0));
        if (k > 1) {
          for (int j = 1; j < k; j++) {
            OnnxModelIO.write(FluidExport.featuresStage(net, j, k), dir.resolve(FluidExport.featuresFile(design, groups, j, k)));
          }
          OnnxModelIO.write(FluidExport.combinedStage(net, k), dir.resolve(FluidExport.combinedFile(k)));
          var mode = new FluidManifest.CombinedMode(k, FluidExport.combinedStages(design, groups, k),
              CrossDeviceBytes.fluidCombined(layout, k), OnnxModels.LOGITS, 0, 0, 0, 0);
          try (CombinedModeRunner runner = new CombinedModeRunner(dir, mode)) {
            assertClose(runner.run(input), djl.get(1));
          }
          // the combined head is not the own head: the cross links and other groups change the answer
          assertThat(maxDiff(djl.get(1).toFloatArray(), djl.get(0).toFloatArray())).isGreaterThan(1e-3);
        }
      }
    }
  }

  @Test
  void staticAndEveryDynamicWidthMatchDjl() throws Exception {
    try (NDManager m = NDManager.newBaseManager()) {
      float[] images = images(3);
      TensorData input = TensorData.ofFloats(OnnxModels.INPUT, new long[] {N, 1, 12, 12}, images);
      NDArray x = m.create(images, new Shape(N, 1, 12, 12));

      Chain dense = FluidRecipe.staticNet(LAYOUT);
      dense.initialize(m, DataType.FLOAT32, new Shape(N, 1, 12, 12));
      randomise(dense, 4);
      Path file = dir.resolve("static.onnx");
      OnnxModelIO.write(OnnxModels.logits("static", dense, 12, 12, 5), file);
      assertClose(run(file, Map.of(OnnxModels.INPUT, input)), dense.forward(new ParameterStore(m, false), new NDList(x), false).get(0));

      List<SlimmableNet.Width> widths = List.of(new SlimmableNet.Width(1, 3), new SlimmableNet.Width(2, 3), new SlimmableNet.Width(1, 1));
      SlimmableNet slim = new SlimmableNet(LAYOUT, widths, 0);
      slim.initialize(m, DataType.FLOAT32, new Shape(N, 1, 12, 12));
      randomise(slim, 5);
      NDList all = slim.forward(new ParameterStore(m, false), new NDList(x), false);
      assertThat(all).hasSize(widths.size());
      for (int w = 0; w < widths.size(); w++) {
        Path f = dir.resolve("dynamic-" + widths.get(w).label() + ".onnx");
        OnnxModelIO.write(OnnxModels.logits("d", slim.extract(widths.get(w), m), 12, 12, 5), f);
        assertClose(run(f, Map.of(OnnxModels.INPUT, input)), all.get(w));
      }
    }
  }

  @Test
  void crossDeviceBytesCountEveryTransfer() {
    FluidLayout g2 = FluidLayout.standard(28, 28, 10, 2);
    // trunk 1 (24 x 7 x 7 floats) to device 2, features 1 (48 floats) to device 2
    assertThat(CrossDeviceBytes.total(CrossDeviceBytes.fluidCombined(g2, 2))).isEqualTo(24 * 49 * 4 + 48 * 4);
    FluidLayout g3 = g2.withGroups(3);
    // trunks 1->2, 1->3, 2->3 (16 x 7 x 7 each), features 1->3, 2->3 (32 each)
    assertThat(CrossDeviceBytes.total(CrossDeviceBytes.fluidCombined(g3, 3))).isEqualTo(3 * 16 * 49 * 4 + 2 * 32 * 4);
    // Static over 2 devices: all-gather of 24 x 14 x 14 and 48 x 7 x 7, then 48 features to the head
    assertThat(CrossDeviceBytes.widthSplit(g2, 2)).isEqualTo(24 * 196 * 4 + 48 * 49 * 4 + 48 * 4);
    assertThat(CrossDeviceBytes.widthSplit(g3, 1)).isZero();
  }

  /** Random weights and batch-norm statistics (variances positive), so folding is really tested. */
  static void randomise(Block block, long seed) {
    Random r = new Random(seed);
    for (Parameter p : block.getParameters().values()) {
      float[] v = new float[(int) p.getArray().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = p.getType() == Parameter.Type.RUNNING_VAR ? 0.5f + r.nextFloat() : (float) (r.nextGaussian() * 0.4);
      }
      p.getArray().set(v);
    }
  }

  private static float[] images(long seed) {
    Random r = new Random(seed);
    float[] v = new float[N * 144];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  private static TensorData run(Path file, Map<String, TensorData> inputs) {
    try (OnnxSession s = OnnxSession.open(file, new OnnxSession.Options(1, false))) {
      return s.run(inputs).get(OnnxModels.LOGITS);
    }
  }

  private static void assertClose(TensorData onnx, NDArray djl) {
    float[] expected = djl.toFloatArray();
    assertThat(onnx.shape()).containsExactly(djl.getShape().getShape());
    assertThat(maxDiff(onnx.floats(), expected)).isLessThanOrEqualTo(TOLERANCE);
  }

  private static double maxDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }
}
