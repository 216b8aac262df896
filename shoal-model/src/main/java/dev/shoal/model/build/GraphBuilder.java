package dev.shoal.model.build;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.shoal.model.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A small fluent builder for valid ONNX models (opset 17, IR version 8) over the protobuf classes of
 * {@code ai.onnx.proto.OnnxMl}.
 *
 * <pre>{@code
 * GraphBuilder g = new GraphBuilder("tiny");
 * String x = g.input("x", DType.FLOAT, BATCH, 3, 32, 32);
 * String w = g.randomWeight("w", random, 0.1f, 8, 3, 3, 3);
 * String y = g.node("Conv", x, w).ints("pads", 1, 1, 1, 1).out();
 * g.output(y, DType.FLOAT);
 * ModelProto model = g.build();
 * }</pre>
 *
 * <p>A dimension given as {@link #BATCH} becomes the symbolic dimension {@code "N"}. Node and
 * output names are generated ({@code Conv_3}, {@code Conv_3_out0}) unless given. Names must be
 * unique: the builder rejects a tensor name that is produced twice.
 */
public final class GraphBuilder {

  public static final int OPSET = 17;
  public static final long IR_VERSION = 8;
  /** A dimension value meaning "the symbolic batch dimension N". */
  public static final long BATCH = -1;
  public static final String BATCH_DIM = "N";

  private final GraphProto.Builder graph = GraphProto.newBuilder();
  private final Set<String> defined = new HashSet<>();
  private int nodeCounter;

  public GraphBuilder(String graphName) {
    graph.setName(graphName);
  }

  /** Declares a graph input; returns its name. */
  public String input(String name, DType type, long... dims) {
    define(name);
    graph.addInput(valueInfo(name, type, dims));
    return name;
  }

  /** Declares a graph output with a known shape ({@link #BATCH} for the batch dimension). */
  public GraphBuilder output(String name, DType type, long... dims) {
    graph.addOutput(valueInfo(name, type, dims));
    return this;
  }

  /** Declares a graph output whose shape ONNX Runtime infers (element type only). */
  public GraphBuilder output(String name, DType type) {
    graph.addOutput(
        ValueInfoProto.newBuilder()
            .setName(name)
            .setType(
                TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.onnxCode()))));
    return this;
  }

  /** A float initializer with the given values (row-major); returns its name. */
  public String initializer(String name, float[] values, long... dims) {
    define(name);
    graph.addInitializer(floatTensor(name, values, dims));
    return name;
  }

  /** An int64 initializer (shape tensors, axes); returns its name. */
  public String initializerInt64(String name, long[] values, long... dims) {
    define(name);
    graph.addInitializer(int64Tensor(name, values, dims));
    return name;
  }

  /** A float initializer with values uniform in [-scale, scale) drawn from {@code random}. */
  public String randomWeight(String name, Random random, float scale, long... dims) {
    float[] values = new float[Math.toIntExact(count(dims))];
    for (int i = 0; i < values.length; i++) {
      values[i] = (random.nextFloat() * 2 - 1) * scale;
    }
    return initializer(name, values, dims);
  }

  /** A {@code Constant} node holding an int64 vector (e.g. a Reshape target); returns its output. */
  public String constantInt64(long... values) {
    return node("Constant").tensor("value", int64Tensor("", values, values.length)).out();
  }

  /** Starts a node of the given op type reading the given inputs ("" for an omitted optional input). */
  public NodeBuilder node(String opType, String... inputs) {
    return new NodeBuilder(opType, inputs);
  }

  /** The finished model: IR version 8, default-domain opset 17. */
  public ModelProto build() {
    return ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName("shoal")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setGraph(graph.build())
        .build();
  }

  private void define(String name) {
    if (!defined.add(name)) {
      throw new IllegalArgumentException("tensor '" + name + "' is defined twice");
    }
  }

  static long count(long[] dims) {
    long n = 1;
    for (long d : dims) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static ValueInfoProto valueInfo(String name, DType type, long[] dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(
          d == BATCH
              ? TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH_DIM)
              : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setTensorType(
                    TypeProto.Tensor.newBuilder().setElemType(type.onnxCode()).setShape(shape)))
        .build();
  }

  /** A float32 tensor proto (raw little-endian data). */
  public static TensorProto floatTensor(String name, float[] values, long... dims) {
    if (count(dims) != values.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + values.length + " values do not fill its shape");
    }
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return tensor(name, DType.FLOAT, buf.array(), dims);
  }

  /** An int64 tensor proto (raw little-endian data). */
  public static TensorProto int64Tensor(String name, long[] values, long... dims) {
    if (count(dims) != values.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + values.length + " values do not fill its shape");
    }
    ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asLongBuffer().put(values);
    return tensor(name, DType.INT64, buf.array(), dims);
  }

  private static TensorProto tensor(String name, DType type, byte[] raw, long[] dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.onnxCode());
    for (long d : dims) {
      t.addDims(d);
    }
    return t.setRawData(ByteString.copyFrom(raw)).build();
  }

  /** One node under construction; finish it with {@link #out()} or {@link #outs(int)}. */
  public final class NodeBuilder {
    private final NodeProto.Builder node = NodeProto.newBuilder();
    private final List<String> outputNames = new ArrayList<>();

    private NodeBuilder(String opType, String[] inputs) {
      node.setOpType(opType);
      for (String in : inputs) {
        node.addInput(in);
      }
    }

    /** Names the node (default: op type and a counter). */
    public NodeBuilder name(String name) {
      node.setName(name);
      return this;
    }

    /** Names the node's outputs (default: node name + {@code _out}i). */
    public NodeBuilder outputs(String... names) {
      outputNames.addAll(List.of(names));
      return this;
    }

    public NodeBuilder attr(String name, long value) {
      node.addAttribute(
          AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value));
      return this;
    }

    public NodeBuilder attr(String name, float value) {
      node.addAttribute(
          AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value));
      return this;
    }

    public NodeBuilder attr(String name, String value) {
      node.addAttribute(
          AttributeProto.newBuilder()
              .setName(name)
              .setType(AttributeProto.AttributeType.STRING)
              .setS(ByteString.copyFromUtf8(value)));
      return this;
    }

    public NodeBuilder ints(String name, long... values) {
      AttributeProto.Builder a =
          AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
      for (long v : values) {
        a.addInts(v);
      }
      node.addAttribute(a);
      return this;
    }

    public NodeBuilder floats(String name, float... values) {
      AttributeProto.Builder a =
          AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
      for (float v : values) {
        a.addFloats(v);
      }
      node.addAttribute(a);
      return this;
    }

    public NodeBuilder tensor(String name, TensorProto value) {
      node.addAttribute(
          AttributeProto.newBuilder()
              .setName(name)
              .setType(AttributeProto.AttributeType.TENSOR)
              .setT(value));
      return this;
    }

    /** Adds the node with a single output; returns the output's name. */
    public String out() {
      return outs(1)[0];
    }

    /** Adds the node with {@code n} outputs; returns their names. */
    public String[] outs(int n) {
      if (!node.hasName()) {
        node.setName(node.getOpType() + "_" + nodeCounter);
      }
      nodeCounter++;
      if (outputNames.isEmpty()) {
        for (int i = 0; i < n; i++) {
          outputNames.add(node.getName() + "_out" + i);
        }
      } else if (outputNames.size() != n) {
        throw new IllegalArgumentException(
            "node '" + node.getName() + "' named " + outputNames.size() + " outputs, wants " + n);
      }
      for (String o : outputNames) {
        define(o);
        node.addOutput(o);
      }
      graph.addNode(node);
      return outputNames.toArray(String[]::new);
    }
  }
}
