package dev.shoal.runtime.pipeline;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Small ONNX models for the runtime's tests: a chain of dense layers h_i = relu(h_{i-1} W_i + b_i)
 * with fixed seeded weights, and any contiguous slice of it as its own model, so a split
 * pipeline can be compared with the whole model run on one machine.
 */
public final class ChainModels {
  private ChainModels() {}

  static String tensorAfter(int layer, int layers) {
    return layer < 0 ? "x" : layer == layers - 1 ? "y" : "h" + layer;
  }

  /** Layers {@code first..last} (inclusive) of a {@code layers}-layer chain of width {@code width}. */
  public static byte[] slice(int width, int layers, int first, int last) {
    return slice(width, layers, first, last, false);
  }

  /** The whole chain with a batch dimension fixed at 1 (a model that cannot be batched dynamically). */
  public static byte[] sliceWithFixedBatch(int width, int layers) {
    return slice(width, layers, 0, layers - 1, true);
  }

  private static byte[] slice(int width, int layers, int first, int last, boolean fixedBatch) {
    OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("chain_" + first + "_" + last);
    g.addInput(valueInfo(tensorAfter(first - 1, layers), width, fixedBatch));
    g.addOutput(valueInfo(tensorAfter(last, layers), width, fixedBatch));
    for (int i = first; i <= last; i++) {
      Random r = new Random(1000 + i);
      float[] w = new float[width * width];
      float[] b = new float[width];
      for (int k = 0; k < w.length; k++) {
        w[k] = (float) (r.nextGaussian() * Math.sqrt(2.0 / width));
      }
      for (int k = 0; k < b.length; k++) {
        b[k] = (float) (r.nextGaussian() * 0.1);
      }
      g.addInitializer(floats("W" + i, new long[] {width, width}, w));
      g.addInitializer(floats("B" + i, new long[] {width}, b));
      g.addNode(node("MatMul", new String[] {tensorAfter(i - 1, layers), "W" + i}, "m" + i));
      g.addNode(node("Add", new String[] {"m" + i, "B" + i}, "a" + i));
      g.addNode(node("Relu", new String[] {"a" + i}, tensorAfter(i, layers)));
    }
    return OnnxMl.ModelProto.newBuilder()
        .setIrVersion(8)
        .setProducerName("shoal-runtime-test")
        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(g)
        .build()
        .toByteArray();
  }

  private static OnnxMl.NodeProto node(String op, String[] inputs, String output) {
    OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(output + "_" + op);
    for (String in : inputs) {
      n.addInput(in);
    }
    return n.addOutput(output).build();
  }

  private static OnnxMl.ValueInfoProto valueInfo(String name, int width, boolean fixedBatch) {
    OnnxMl.TensorShapeProto.Dimension batch = fixedBatch
        ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1).build()
        : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch").build();
    OnnxMl.TensorShapeProto shape = OnnxMl.TensorShapeProto.newBuilder()
        .addDim(batch)
        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(width))
        .build();
    return OnnxMl.ValueInfoProto.newBuilder().setName(name)
        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
            .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  private static OnnxMl.TensorProto floats(String name, long[] dims, float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
        .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(buf.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }
}
