package dev.shoal.train.export;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.train.nn.ExportableBlock;
import dev.shoal.train.nn.OnnxExport;

/**
 * Whole ONNX models (opset 17) from trained networks: input {@code "input"} float32
 * {@code [N, 1, rows, cols]}, already normalised; either a logits output or a top-k head.
 */
public final class OnnxModels {

  public static final String INPUT = "input";
  public static final String LOGITS = "logits";
  public static final String TOPK_CLASSES = "classes";
  public static final String TOPK_SCORES = "scores";

  private OnnxModels() {}

  /** {@code input -> net -> "logits" [N, outputs]}. */
  public static ModelProto logits(String name, ExportableBlock net, int rows, int cols, int outputs) {
    GraphBuilder g = new GraphBuilder(name);
    String x = g.input(INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, rows, cols);
    String y = net.export(new OnnxExport(g), x);
    g.node("Identity", y).outputs(LOGITS).out();
    g.output(LOGITS, DType.FLOAT, GraphBuilder.BATCH, outputs);
    return g.build();
  }

  /**
   * {@code input -> net -> softmax -> top k}: outputs {@code "classes"} int64 {@code [N, k]} (class
   * ids, best first) and {@code "scores"} float32 {@code [N, k]} (their softmax probabilities).
   */
  public static ModelProto topK(String name, ExportableBlock net, int rows, int cols, int classes, int k) {
    if (k < 1 || k > classes) {
      throw new IllegalArgumentException("k must be in [1, " + classes + "], got " + k);
    }
    GraphBuilder g = new GraphBuilder(name);
    OnnxExport out = new OnnxExport(g);
    String x = g.input(INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, rows, cols);
    String logits = net.export(out, x);
    String probs = g.node("Softmax", logits).attr("axis", 1L).out();
    g.node("TopK", probs, out.int64("k", new long[] {k}, 1))
        .attr("axis", 1L)
        .attr("largest", 1L)
        .attr("sorted", 1L)
        .outputs(TOPK_SCORES, TOPK_CLASSES)
        .outs(2);
    g.output(TOPK_CLASSES, DType.INT64, GraphBuilder.BATCH, k);
    g.output(TOPK_SCORES, DType.FLOAT, GraphBuilder.BATCH, k);
    return g.build();
  }
}
