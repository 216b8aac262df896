package dev.shoal.model.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.DType;
import dev.shoal.model.ModelFormatException;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Element type and shape of every tensor, taken from ONNX Runtime itself rather than our own
 * per-op rules: every intermediate tensor is exposed as a graph output and the model runs once
 * with batch 1 and once with batch 2 on zero inputs. A dimension whose size differs between the
 * runs follows the batch (kept as -1, symbolic); the others are exact. Every symbolic or unknown
 * dimension of a graph input is treated as a batch dimension (1, then 2). Existing value_info is
 * not trusted over what ONNX Runtime computes.
 *
 * <p>Shapes that depend on input values (Range, NonZero, a Reshape whose target is a graph input)
 * are those of zero inputs: a dimension that comes out empty is kept dynamic (-1, unnamed) so
 * that stage interfaces do not pin it, but its per-sample bytes count as 0; a model that cannot
 * run on zero inputs at all (a Reshape target fed as an input) is rejected with ONNX Runtime's
 * message. Real exported models keep such values in initializers or Constant nodes.
 */
final class ShapeInference {

  /** What the two runs showed about one tensor. */
  record Inferred(DType dtype, long[] shape, long[] sampleShape) {}

  private ShapeInference() {}

  /** Largest input the zero-filled probe allocates (found by ModelFuzzTest: huge declared dims). */
  static final long MAX_PROBE_INPUT_BYTES = 1L << 30;

  /**
   * Most bytes all the model's tensors may take together in the batch-2 probe, which keeps every
   * one of them: 2 GiB, or half the heap when that is smaller. ModelFuzzTest found a Conv whose
   * edited padding made ONNX Runtime compute a [2, 16, 4003, 4003] activation: minutes of CPU,
   * gigabytes of native memory, then OutOfMemoryError copying it into the heap.
   */
  static long maxProbeBytes() {
    return Math.min(2L << 30, Runtime.getRuntime().maxMemory() / 2);
  }

  static Map<String, Inferred> infer(ModelProto model, Set<String> realInputs, String where) {
    GraphProto graph = model.getGraph();
    Set<String> exposed = new HashSet<>();
    graph.getOutputList().forEach(o -> exposed.add(o.getName()));
    GraphProto.Builder g = graph.toBuilder();
    for (NodeProto n : graph.getNodeList()) {
      for (String out : n.getOutputList()) {
        // untyped outputs are accepted: ONNX Runtime types them from its own inference
        if (!out.isEmpty() && exposed.add(out)) {
          g.addOutput(ValueInfoProto.newBuilder().setName(out));
        }
      }
    }
    byte[] probe = model.toBuilder().setGraph(g).build().toByteArray();
    Map<String, TensorData> one = zeroFeeds(graph, realInputs, 1, where);
    Map<String, TensorData> two = zeroFeeds(graph, realInputs, 2, where);
    OnnxSession session;
    try {
      // all cores: this probe runs the whole model three times over, once per load
      session = OnnxSession.open(probe,
          new OnnxSession.Options(Runtime.getRuntime().availableProcessors(), false));
    } catch (OnnxRuntimeError e) {
      throw new ModelFormatException(where + ": ONNX Runtime cannot load the model: "
          + firstLine(e.getMessage()), e);
    }
    try (session) {
      checkProbeSize(session, where);
      one.putAll(session.run(one));
      two.putAll(session.run(two));
    } catch (OnnxRuntimeError e) {
      throw new ModelFormatException(where + ": ONNX Runtime cannot run the model on zero-filled"
          + " inputs (how Shoal infers shapes): " + firstLine(e.getMessage()), e);
    }
    Map<String, Inferred> result = new HashMap<>();
    for (Map.Entry<String, TensorData> e : one.entrySet()) {
      TensorData a = e.getValue();
      TensorData b = two.get(e.getKey());
      long[] shape = a.shape().clone();
      if (b.shape().length != shape.length) {
        throw new ModelFormatException(where + ": tensor '" + e.getKey()
            + "' changes rank with the batch size; not supported");
      }
      for (int i = 0; i < shape.length; i++) {
        // an empty dimension on zero inputs usually means a value-dependent shape (Range, NonZero)
        if (b.shape()[i] != shape[i] || shape[i] == 0) {
          shape[i] = -1;
        }
      }
      result.put(e.getKey(), new Inferred(a.dtype(), shape, a.shape().clone()));
    }
    return result;
  }

  /**
   * Refuses, before anything runs, a model whose tensors ONNX Runtime's own static shape
   * inference (done when the session loads) says are too large for the probe: sizes of the batch-2
   * run, every dimension it leaves symbolic counted as the batch (2).
   */
  private static void checkProbeSize(OnnxSession session, String where) {
    long limit = maxProbeBytes();
    long total = 0;
    TensorSpec largest = null;
    long largestBytes = 0;
    for (TensorSpec t : session.outputs()) {
      long bytes = t.dtype().byteSize();
      for (long d : t.shape()) {
        bytes = saturatedMultiply(bytes, d < 0 ? 2 : d);
      }
      total = total > Long.MAX_VALUE - bytes ? Long.MAX_VALUE : total + bytes;
      if (bytes > largestBytes) {
        largest = t;
        largestBytes = bytes;
      }
    }
    if (total > limit) {
      throw new ModelFormatException(where + ": its tensors would take " + mib(total) + " MiB at batch 2 (largest: '"
          + largest.name() + "' " + largest.dtype() + Arrays.toString(largest.shape()) + ", " + mib(largestBytes)
          + " MiB per 2 samples), over the " + mib(limit) + " MiB Shoal allows while inferring shapes;"
          + " an edited or corrupt model? (sizes from ONNX Runtime's shape inference, before running it)");
    }
  }

  private static long saturatedMultiply(long a, long b) {
    long r = a * b;
    return b != 0 && (r / b != a || r < 0) ? Long.MAX_VALUE : r;
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  private static Map<String, TensorData> zeroFeeds(
      GraphProto graph, Set<String> realInputs, int batch, String where) {
    Map<String, TensorData> feeds = new LinkedHashMap<>();
    for (ValueInfoProto in : graph.getInputList()) {
      if (!realInputs.contains(in.getName())) {
        continue;
      }
      DType dtype = ModelGraph.dtype(in.getType().getTensorType().getElemType(), in.getName(), where);
      TensorShapeProto s = in.getType().getTensorType().getShape();
      long[] shape = new long[s.getDimCount()];
      for (int i = 0; i < shape.length; i++) {
        TensorShapeProto.Dimension d = s.getDim(i);
        shape[i] = d.hasDimValue() ? d.getDimValue() : batch;
        if (shape[i] < 0) {
          throw new ModelFormatException(where + ": input '" + in.getName() + "' declares dimension " + i
              + " as " + shape[i] + " (a size must be >= 0, or symbolic)");
        }
      }
      long bytes;
      try {
        bytes = Math.multiplyExact(TensorData.elementCount(shape), (long) dtype.byteSize());
      } catch (ArithmeticException e) {
        bytes = Long.MAX_VALUE;
      }
      if (bytes > MAX_PROBE_INPUT_BYTES) {
        throw new ModelFormatException(where + ": input '" + in.getName() + "' of shape "
            + java.util.Arrays.toString(shape) + " is larger than " + (MAX_PROBE_INPUT_BYTES >> 20)
            + " MiB at batch " + batch + "; not supported");
      }
      byte[] data = new byte[(int) bytes];
      feeds.put(in.getName(), new TensorData(in.getName(), dtype, shape, data));
    }
    return feeds;
  }

  static String firstLine(String message) {
    String m = message == null ? "" : message.strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
