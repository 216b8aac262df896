package dev.shoal.plan.strategy;

import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import java.util.Random;

/** Small ONNX models built in the test: dense chains and top-k classifiers. */
final class TinyModels {
  private TinyModels() {}

  /** x[N,w] -> relu(x W + b) repeated {@code layers} times -> y[N,w]. */
  static byte[] dense(int width, int layers, long seed) {
    GraphBuilder g = new GraphBuilder("dense");
    String h = g.input("x", DType.FLOAT, GraphBuilder.BATCH, width);
    Random r = new Random(seed);
    for (int i = 0; i < layers; i++) {
      String w = g.randomWeight("W" + i, r, 0.3f, width, width);
      String b = g.randomWeight("B" + i, r, 0.1f, width);
      h = g.node("Relu", g.node("Add", g.node("MatMul", h, w).out(), b).out()).out();
    }
    g.node("Identity", h).outputs("y").out();
    g.output("y", DType.FLOAT, GraphBuilder.BATCH, width);
    return g.build().toByteArray();
  }

  /** x[N,4] -> scores of {@code classes} classes -> top-k ids (INT64) and scores (FP32). */
  static byte[] topK(int classes, int k, long seed) {
    GraphBuilder g = new GraphBuilder("topk");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 4);
    String w = g.randomWeight("W", new Random(seed), 1f, 4, classes);
    String p = g.node("Softmax", g.node("MatMul", x, w).out()).attr("axis", 1L).out();
    g.node("TopK", p, g.constantInt64(k)).attr("axis", 1L).outputs("scores", "ids").outs(2);
    g.output("scores", DType.FLOAT, GraphBuilder.BATCH, k);
    g.output("ids", DType.INT64, GraphBuilder.BATCH, k);
    return g.build().toByteArray();
  }
}
