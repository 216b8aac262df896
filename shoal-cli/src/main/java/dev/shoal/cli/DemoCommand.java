package dev.shoal.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.StageChain;
import dev.shoal.model.zoo.ModelZoo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code shoal demo}, for now: profile the bundled model, split it into balanced stages, write
 * them, run the chain against the whole model and check they agree.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {"Profile the bundled model, split it into stages, and check that the chained",
        "stages give the whole model's answer."})
public final class DemoCommand implements Callable<Integer> {

  static final String BUNDLED = "demo/fashion-classifier.onnx";
  static final double TOLERANCE = 1e-5;

  @Option(names = "--stages", defaultValue = "3", description = "number of stages (default: ${DEFAULT-VALUE})")
  int stages;

  @Option(names = "--out", paramLabel = "DIR",
      description = "where to write the split (default: a temporary directory, removed afterwards)")
  Path out;

  @Override
  public Integer call() throws IOException {
    ModelProto model;
    String name;
    try (InputStream in = DemoCommand.class.getResourceAsStream(BUNDLED)) {
      if (in != null) {
        name = "bundled " + BUNDLED;
        model = OnnxModelIO.parse(in.readAllBytes(), name);
      } else {
        name = "MobileNetV2 224x224 (model zoo, random weights; no bundled model yet)";
        model = ModelZoo.mobileNetV2(224, 1.0, 1000, 1);
      }
    }
    System.out.println("demo: " + name);
    ModelGraph graph = ModelGraph.of(model, name);
    ModelProfile profile = ModelProfile.of(graph);
    System.out.printf(Locale.ROOT, "  %d nodes, %.1f M MACs, %.2f MB parameters%n", graph.nodes().size(),
        profile.totalMacs() / 1e6, profile.totalParamBytes() / 1e6);
    int[] cuts = ModelSplitter.balancedCuts(profile, stages);
    Split split = ModelSplitter.split(profile, cuts);
    Path dir = out != null ? out : Files.createTempDirectory("shoal-demo-");
    try {
      Path target = out != null ? out : dir.resolve("split");
      split.writeTo(target);
      split = Split.readFrom(target);
      System.out.println("  split into " + stages + " stages after positions " + Arrays.toString(cuts)
          + " -> " + (out != null ? target : "a temporary directory (--out DIR keeps it)"));
      split.stages().forEach(s -> System.out.printf(Locale.ROOT,
          "    stage %d: positions %d..%d, %.1f M MACs, sends %s%n", s.index(), s.firstPosition(),
          s.lastPosition(), s.macs() / 1e6, s.outputs()));
      Map<String, TensorData> inputs = SampleInputs.random(graph, 1, 7);
      Map<String, TensorData> whole;
      Map<String, TensorData> chained;
      try (OnnxSession session = OnnxSession.open(model.toByteArray(), OnnxSession.Options.DEFAULT)) {
        whole = session.run(inputs);
      }
      try (StageChain chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
        chained = chain.run(inputs);
      }
      boolean ok = true;
      for (String o : whole.keySet()) {
        float[] a = whole.get(o).floats();
        float[] b = chained.get(o).floats();
        double maxErr = 0;
        for (int i = 0; i < a.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
        }
        boolean same = maxErr <= TOLERANCE && argmax(a) == argmax(b);
        ok &= same;
        System.out.printf(Locale.ROOT, "  output %s: max |whole - chained| = %.2e, argmax %d vs %d: %s%n",
            o, maxErr, argmax(a), argmax(b), same ? "OK" : "MISMATCH");
      }
      return ok ? 0 : 1;
    } finally {
      if (out == null) {
        try (var walk = Files.walk(dir)) {
          for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
    }
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
