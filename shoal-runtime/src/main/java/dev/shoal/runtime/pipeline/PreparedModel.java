package dev.shoal.runtime.pipeline;

import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.cost.LayerTimer;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.graph.TensorInfo;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.worker.OrtStack;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What the coordinator knows about a model before planning: its graph and cost profile, each
 * node's time for one sample on this host, and the metadata the inference API serves.
 *
 * <p>Node times are ONNX Runtime's kernel times (profiled, one intra-op thread) scaled so that they
 * add up to the measured time of a whole {@code run} call: profiling itself slows kernels, and a
 * call costs more than its kernels (executor, input and output copies). What a cut adds (each stage
 * is its own call, with its own copies) is not in the cost model.
 *
 * @param kernelSeconds the kernel times alone
 * @param runSeconds time of one whole-model {@code run} call: the 10th percentile of the timed runs,
 *     so that other load on a shared host (preemption) inflates it less than a median
 */
public record PreparedModel(ModelGraph graph, ModelProfile profile, double[] nodeSeconds, double[] kernelSeconds,
    double runSeconds, ServedModel served) {

  /** Untimed runs first: a session's first calls are many times slower than later ones. */
  private static final int WARM_UP_RUNS = 5;

  /** Parses, profiles and times the model ({@code runs} timed runs); {@code name} is the served name. */
  public static PreparedModel of(byte[] onnx, String name, String where, int runs) {
    return OrtStack.call("model-profiler", () -> {
      ModelGraph graph = ModelGraph.of(OnnxModelIO.parse(onnx, where), where);
      ModelProfile profile = ModelProfile.of(graph);
      // Timed before profiling: once ONNX Runtime has profiled a session, later sessions in this
      // process run several times slower (MobileNetV2 96x96 x0.5: 2.7 ms before, 10.6 ms after).
      double run = timeWholeRun(graph, runs);
      double[] kernels = LayerTimer.measure(graph, runs, 1).seconds();
      double total = Arrays.stream(kernels).sum();
      double[] seconds = total > 0 ? Arrays.stream(kernels).map(k -> k * run / total).toArray()
          : Arrays.stream(kernels).map(k -> run / kernels.length).toArray();
      return new PreparedModel(graph, profile, seconds, kernels, run, servedModel(name, graph));
    });
  }

  private static double timeWholeRun(ModelGraph graph, int runs) {
    Map<String, TensorData> inputs = SampleInputs.random(graph, 1, 1);
    try (OnnxSession s = OnnxSession.open(graph.orderedModel().toByteArray(), OnnxSession.Options.DEFAULT)) {
      for (int i = 0; i < WARM_UP_RUNS; i++) {
        s.run(inputs);
      }
      double[] t = new double[runs];
      for (int i = 0; i < runs; i++) {
        long t0 = System.nanoTime();
        s.run(inputs);
        t[i] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(t);
      return t[runs / 10];
    }
  }

  public static ServedModel servedModel(String name, ModelGraph graph) {
    return new ServedModel(name, "1", "onnxruntime_onnx", specs(graph, graph.inputs()), specs(graph, graph.outputs()));
  }

  private static List<TensorSpec> specs(ModelGraph graph, List<String> names) {
    return names.stream().map(n -> {
      TensorInfo t = graph.tensor(n);
      return new TensorSpec(n, t.dtype(), t.shape());
    }).toList();
  }
}
