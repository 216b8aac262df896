package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Bilinear resize of an NCHW batch to {@code size x size}, with ONNX's {@code half_pixel}
 * coordinates (PyTorch's {@code align_corners=False}, no antialiasing). In training it is two
 * matrix products with fixed interpolation matrices (exact and differentiable); exported as ONNX
 * Resize. The identity when the input already has the size.
 */
public final class ResizeTo extends ExportableBlock {

  private final int size;

  public ResizeTo(int size) {
    this.size = size;
  }

  public int size() {
    return size;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    int h = (int) x.getShape().get(2);
    int w = (int) x.getShape().get(3);
    if (h == size && w == size) {
      return inputs;
    }
    NDArray rows = x.getManager().create(interpolation(h, size), new Shape(size, h));
    NDArray cols = x.getManager().create(transpose(interpolation(w, size), size, w), new Shape(w, size));
    return new NDList(rows.matMul(x).matMul(cols));
  }

  /** Row i holds the weights of the input pixels that output pixel i mixes ([out x in]). */
  static float[] interpolation(int in, int out) {
    float[] m = new float[out * in];
    double scale = (double) in / out;
    for (int i = 0; i < out; i++) {
      double src = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), in - 1);
      int i0 = (int) Math.floor(src);
      int i1 = Math.min(i0 + 1, in - 1);
      double frac = src - i0;
      m[i * in + i0] += (float) (1 - frac);
      m[i * in + i1] += (float) frac;
    }
    return m;
  }

  private static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape s = inputs[0];
    return new Shape[] {new Shape(s.get(0), s.get(1), size, size)};
  }

  @Override
  public String export(OnnxExport out, String input) {
    var g = out.graph();
    String shape = g.node("Shape", input).out();
    String batchAndChannels =
        g.node(
                "Slice",
                shape,
                out.int64("starts", new long[] {0}, 1),
                out.int64("ends", new long[] {2}, 1),
                out.int64("axes", new long[] {0}, 1))
            .out();
    String sizes =
        g.node("Concat", batchAndChannels, out.int64("hw", new long[] {size, size}, 2))
            .attr("axis", 0L)
            .out();
    return g.node("Resize", input, "", "", sizes)
        .attr("mode", "linear")
        .attr("coordinate_transformation_mode", "half_pixel")
        .out();
  }

  @Override
  public long macs(Shape input) {
    return 0;
  }
}
