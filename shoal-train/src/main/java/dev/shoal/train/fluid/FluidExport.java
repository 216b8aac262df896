package dev.shoal.train.fluid;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.model.family.FluidManifest.CombinedMode;
import dev.shoal.model.family.FluidManifest.Stage;
import dev.shoal.model.family.FluidManifest.SubNetwork;
import dev.shoal.model.family.FluidManifest.Transfer;
import dev.shoal.model.family.FluidManifest.WidthSplitModel;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.OnnxExport;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.Accuracy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Writes what serving needs for a Fluid network of G groups into one directory: each sub-network
 * alone ({@code sub<k>.onnx}), the stages of every combined mode ({@code stage<k>-features.onnx}:
 * device k's trunk output and combined-mode pooled features for later devices;
 * {@code stage<k>-combined.onnx}: device k's combined head over groups 1..k), the Static model and
 * Dynamic's widths k/G, each measured on the test set, and {@code fluid.json}.
 */
public final class FluidExport {

  public static final String CROSS_LINKS =
      "one-way, earlier to later group only, at the lowest resolution: group j's layer-2 output (pooled) feeds a "
          + "3x3 conv-BN added before group k's last ReLU, for every j < k; pooled features of groups 1..k feed the "
          + "combined head on device k; the combined mode of all G groups runs its own copies of groups 1..G-1's last "
          + "convs and of the links into them";
  private static final int EVAL_BATCH = 500;

  private FluidExport() {}

  public static String subFile(int k) {
    return "sub" + k + ".onnx";
  }

  public static String featuresFile(int k) {
    return "stage" + k + "-features.onnx";
  }

  /**
   * Device k's features stage in the combined mode of devices 1..m of a network with
   * {@code groups} groups: {@link #featuresFile(int)}, except where the design gives that mode its
   * own links into group k and a larger mode uses the file too ({@code stage<k>-features-1to<m>.onnx}).
   */
  public static String featuresFile(FluidNet.Design design, int groups, int k, int m) {
    return (design.ownLinks() && k >= 2 || design.ownLasts()) && m < groups ? "stage" + k + "-features-1to" + m + ".onnx" : featuresFile(k);
  }

  public static String combinedFile(int k) {
    return "stage" + k + "-combined.onnx";
  }

  /** Sub-network {@code k} alone: image to logits, nothing from any other group. */
  public static ModelProto subNetwork(FluidNet net, int k) {
    FluidLayout l = net.layout();
    GraphBuilder g = new GraphBuilder("fluid-g" + l.groups() + "-sub" + k);
    OnnxExport out = new OnnxExport(g);
    String x = g.input(OnnxModels.INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, l.rows(), l.cols());
    String t = net.trunk(k).export(out, x);
    String relu = g.node("Relu", net.last(k).export(out, t)).out();
    String logits = net.head(k).export(out, new GlobalPool().export(out, relu));
    return withOutput(g, logits, OnnxModels.LOGITS, l.classes());
  }

  /**
   * Device k's stage in the combined mode of devices 1..m (k < m), where device m answers: reads
   * the image and the trunk outputs of devices 1..k-1; returns its trunk output (for every later
   * device) and its combined-mode pooled features (for the device with the combined head).
   */
  public static ModelProto featuresStage(FluidNet net, int k, int m) {
    FluidLayout l = net.layout();
    String file = featuresFile(net.design(), l.groups(), k, m);
    GraphBuilder g = new GraphBuilder("fluid-g" + l.groups() + "-" + file.substring(0, file.length() - ".onnx".length()));
    OnnxExport out = new OnnxExport(g);
    String x = g.input(OnnxModels.INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, l.rows(), l.cols());
    List<String> earlier = trunkInputs(g, l, k);
    String t = net.trunk(k).export(out, x);
    String f = combinedFeatures(out, net, k, m, t, earlier);
    g.node("Identity", t).outputs(CrossDeviceBytes.trunk(k)).out();
    g.output(CrossDeviceBytes.trunk(k), DType.FLOAT, GraphBuilder.BATCH, l.groupChannels(2), l.lowRows(), l.lowCols());
    return withOutput(g, f, CrossDeviceBytes.features(k), l.groupChannels(3));
  }

  /**
   * Device m's stage in the combined mode of devices 1..m: reads the image, the trunk outputs and
   * the pooled features of devices 1..m-1; returns the combined logits.
   */
  public static ModelProto combinedStage(FluidNet net, int m) {
    FluidLayout l = net.layout();
    GraphBuilder g = new GraphBuilder("fluid-g" + l.groups() + "-stage" + m + "-combined");
    OnnxExport out = new OnnxExport(g);
    String x = g.input(OnnxModels.INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, l.rows(), l.cols());
    List<String> earlier = trunkInputs(g, l, m);
    List<String> features = new ArrayList<>();
    for (int j = 1; j < m; j++) {
      features.add(g.input(CrossDeviceBytes.features(j), DType.FLOAT, GraphBuilder.BATCH, l.groupChannels(3)));
    }
    String t = net.trunk(m).export(out, x);
    features.add(combinedFeatures(out, net, m, m, t, earlier));
    if (net.mix(m).isPresent()) {
      // the mix conv reads every trunk map of the mode, in group order
      List<String> trunks = new ArrayList<>(earlier);
      trunks.add(t);
      String all = g.node("Concat", trunks.toArray(String[]::new)).attr("axis", 1L).out();
      features.add(new GlobalPool().export(out, net.mix(m).get().export(out, all)));
    }
    String concat = g.node("Concat", features.toArray(String[]::new)).attr("axis", 1L).out();
    return withOutput(g, net.combinedHead(m).export(out, concat), OnnxModels.LOGITS, l.classes());
  }

  private static List<String> trunkInputs(GraphBuilder g, FluidLayout l, int k) {
    List<String> names = new ArrayList<>();
    for (int j = 1; j < k; j++) {
      names.add(g.input(CrossDeviceBytes.trunk(j), DType.FLOAT, GraphBuilder.BATCH, l.groupChannels(2), l.lowRows(), l.lowCols()));
    }
    return names;
  }

  /**
   * Group k's features in the combined mode of groups 1..m: its last conv plus the mode's links from
   * earlier trunks, ReLU, pooled.
   */
  private static String combinedFeatures(
      OnnxExport out, FluidNet net, int k, int m, String trunk, List<String> earlierTrunks) {
    String sum = net.last(k, m).export(out, trunk);
    for (int j = 1; j < k; j++) {
      String link = net.cross(j, k, m).export(out, earlierTrunks.get(j - 1));
      sum = out.graph().node("Add", sum, link).out();
    }
    return new GlobalPool().export(out, out.graph().node("Relu", sum).out());
  }

  private static ModelProto withOutput(GraphBuilder g, String value, String name, long... dims) {
    g.node("Identity", value).outputs(name).out();
    long[] shape = new long[dims.length + 1];
    shape[0] = GraphBuilder.BATCH;
    System.arraycopy(dims, 0, shape, 1, dims.length);
    g.output(name, DType.FLOAT, shape);
    return g.build();
  }

  /** The combined mode of devices 1..m as stages (sizes filled in by {@link #run}). */
  static List<Stage> combinedStages(FluidNet.Design design, int groups, int m) {
    List<Stage> stages = new ArrayList<>();
    for (int k = 1; k <= m; k++) {
      List<String> inputs = new ArrayList<>(List.of(OnnxModels.INPUT));
      for (int j = 1; j < k; j++) {
        inputs.add(CrossDeviceBytes.trunk(j));
      }
      if (k < m) {
        stages.add(new Stage(k, featuresFile(design, groups, k, m), inputs, List.of(CrossDeviceBytes.trunk(k), CrossDeviceBytes.features(k))));
      } else {
        for (int j = 1; j < k; j++) {
          inputs.add(CrossDeviceBytes.features(j));
        }
        stages.add(new Stage(k, combinedFile(k), inputs, List.of(OnnxModels.LOGITS)));
      }
    }
    return stages;
  }

  /**
   * Exports the Fluid network with {@code groups} groups from its last checkpoint, and the
   * baselines when their checkpoints are there, into {@code dir}; measures every model on the test
   * set; writes {@code fluid.json}.
   */
  public static FluidManifest run(FashionData data, Path checkpoints, int groups, Path dir, Consumer<String> log)
      throws IOException {
    FluidLayout layout = FluidLayout.standard(data.rows(), data.cols(), data.numClasses(), groups);
    Files.createDirectories(dir);
    Shape one = new Shape(1, 1, data.rows(), data.cols());
    try (NDManager manager = NDManager.newBaseManager()) {
      FluidNet net = new FluidNet(layout, FluidRecipe.DESIGN);
      net.initialize(manager, DataType.FLOAT32, one);
      Weights.load(net, TrainingPlan.checkpoint(checkpoints, new TrainingPlan.FluidPhase(groups, groups)));
      List<SubNetwork> subs = new ArrayList<>();
      for (int k = 1; k <= groups; k++) {
        Path file = dir.resolve(subFile(k));
        OnnxModelIO.write(subNetwork(net, k), file);
        // one file per distinct stage: modes that share device k's features share its file
        Set<String> written = new HashSet<>();
        for (int m = k + 1; m <= groups; m++) {
          String features = featuresFile(net.design(), groups, k, m);
          if (written.add(features)) {
            OnnxModelIO.write(featuresStage(net, k, m), dir.resolve(features));
          }
        }
        if (k > 1) {
          OnnxModelIO.write(combinedStage(net, k), dir.resolve(combinedFile(k)));
        }
        Size size = Size.of(file);
        double accuracy = Accuracy.of(OnnxEvaluator.run(file, data.test(), EVAL_BATCH, 1).get(OnnxModels.LOGITS).floats(),
            data.test().data());
        log.accept(String.format("fluid g%d: sub-network %d alone: %d parameters, %d MACs, test accuracy %.4f",
            groups, k, size.params(), size.macs(), accuracy));
        subs.add(new SubNetwork(k, file.getFileName().toString(), OnnxModels.LOGITS, size.params(), size.macs(), accuracy));
      }
      List<CombinedMode> combined = new ArrayList<>();
      for (int m = 2; m <= groups; m++) {
        List<Stage> stages = combinedStages(net.design(), groups, m);
        List<Transfer> transfers = CrossDeviceBytes.fluidCombined(layout, m);
        long params = 0;
        long macs = 0;
        for (Stage s : stages) {
          Size size = Size.of(dir.resolve(s.file()));
          params += size.params();
          macs += size.macs();
        }
        CombinedMode mode = new CombinedMode(m, stages, transfers, OnnxModels.LOGITS, params, macs,
            CrossDeviceBytes.total(transfers), 0);
        double accuracy;
        try (CombinedModeRunner runner = new CombinedModeRunner(dir, mode)) {
          accuracy = Accuracy.of(runner.logits(data.test(), EVAL_BATCH), data.test().data());
        }
        log.accept(String.format("fluid g%d: combined, devices 1..%d: %d parameters, %d MACs, %d bytes crossing, "
            + "test accuracy %.4f", groups, m, params, macs, mode.bytesCrossing(), accuracy));
        combined.add(new CombinedMode(m, stages, transfers, OnnxModels.LOGITS, params, macs, mode.bytesCrossing(), accuracy));
      }
      Optional<WidthSplitModel> staticModel = exportStatic(data, layout, checkpoints, dir, manager, log);
      List<WidthSplitModel> dynamic = exportDynamic(data, layout, checkpoints, dir, manager, log);
      FluidManifest manifest = new FluidManifest(
          FluidManifest.FORMAT_VERSION, "fashion-mnist-fluid-g" + groups, data.numClasses(), data.modelInput(), groups,
          List.of(layout.conv1(), layout.conv2(), layout.conv3()), CROSS_LINKS, subs, combined,
          staticModel.orElse(null), dynamic);
      manifest.write(dir.resolve(FluidManifest.FILE_NAME));
      return manifest;
    }
  }

  private static Optional<WidthSplitModel> exportStatic(
      FashionData data, FluidLayout layout, Path checkpoints, Path dir, NDManager manager, Consumer<String> log)
      throws IOException {
    Path checkpoint = TrainingPlan.checkpoint(checkpoints, new TrainingPlan.StaticUnit());
    if (!Files.isRegularFile(checkpoint)) {
      return Optional.empty();
    }
    Chain net = FluidRecipe.staticNet(layout);
    net.initialize(manager, DataType.FLOAT32, new Shape(1, 1, data.rows(), data.cols()));
    Weights.load(net, checkpoint);
    return Optional.of(widthSplit(data, layout, "static", layout.groups(), layout.groups(), net, dir, log));
  }

  private static List<WidthSplitModel> exportDynamic(
      FashionData data, FluidLayout layout, Path checkpoints, Path dir, NDManager manager, Consumer<String> log)
      throws IOException {
    Path checkpoint = TrainingPlan.checkpoint(checkpoints, new TrainingPlan.DynamicUnit());
    if (!Files.isRegularFile(checkpoint)) {
      return List.of();
    }
    SlimmableNet net = new SlimmableNet(layout, FluidRecipe.DYNAMIC_WIDTHS, 0);
    net.initialize(manager, DataType.FLOAT32, new Shape(1, 1, data.rows(), data.cols()));
    Weights.load(net, checkpoint);
    List<WidthSplitModel> models = new ArrayList<>();
    for (int k = 1; k <= layout.groups(); k++) {
      int devices = k;
      SlimmableNet.Width width = net.widths().stream()
          .filter(w -> w.numerator() * layout.groups() == devices * w.denominator())
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("Dynamic has no width " + devices + "/" + layout.groups()));
      Chain chain = net.extract(width, manager);
      models.add(widthSplit(data, layout, "dynamic-" + k + "of" + layout.groups(), k, layout.groups(), chain, dir, log));
    }
    return models;
  }

  private static WidthSplitModel widthSplit(
      FashionData data, FluidLayout layout, String name, int k, int groups, Chain net, Path dir, Consumer<String> log)
      throws IOException {
    Path file = dir.resolve(name + ".onnx");
    OnnxModelIO.write(OnnxModels.logits(name, net, data.rows(), data.cols(), data.numClasses()), file);
    Size size = Size.of(file);
    double accuracy =
        Accuracy.of(OnnxEvaluator.run(file, data.test(), EVAL_BATCH, 1).get(OnnxModels.LOGITS).floats(), data.test().data());
    long bytes = CrossDeviceBytes.widthSplit(layout, k);
    log.accept(String.format("%s on %d device(s): %d parameters, %d MACs, %d bytes crossing, test accuracy %.4f",
        name, k, size.params(), size.macs(), bytes, accuracy));
    return new WidthSplitModel(name, k + "of" + groups, k, file.getFileName().toString(), OnnxModels.LOGITS,
        size.params(), size.macs(), bytes, accuracy);
  }

  /** Float32 parameters (batch norm folded) and MACs per image of an exported file. */
  record Size(long params, long macs) {
    static Size of(Path file) {
      ModelProfile profile = ModelProfile.of(ModelGraph.load(file));
      return new Size(profile.totalParamBytes() / DType.FLOAT.byteSize(), profile.totalMacs());
    }
  }
}
