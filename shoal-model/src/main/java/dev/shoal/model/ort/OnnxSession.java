package dev.shoal.model.ort;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one way Shoal runs an ONNX model: an ONNX Runtime session that takes and returns
 * {@link TensorData}. Thread-safe for concurrent {@link #run} calls (ONNX Runtime sessions are).
 */
public final class OnnxSession implements AutoCloseable {

  /**
   * Session settings. Intra-op threads default to 1: an edge worker usually runs one stage per
   * core, and the pipeline, not the operator, supplies the parallelism.
   */
  public record Options(int intraOpThreads, boolean profiling) {
    public static final Options DEFAULT = new Options(1, false);

    public Options {
      if (intraOpThreads < 1) {
        throw new IllegalArgumentException("intra-op threads must be >= 1, got " + intraOpThreads);
      }
    }
  }

  /**
   * Each thread's direct buffers for the inputs of its current run, by input position: reused from
   * run to run (allocating and zeroing native memory per call costs more than the copy into it).
   * ONNX Runtime reads a direct buffer in place; the tensors over it are closed when the run ends.
   */
  private static final ThreadLocal<ByteBuffer[]> INPUT_BUFFERS = ThreadLocal.withInitial(() -> new ByteBuffer[0]);

  private final OrtEnvironment env;
  private final OrtSession session;
  private final List<TensorSpec> inputs;
  private final List<TensorSpec> outputs;

  private OnnxSession(OrtEnvironment env, OrtSession session) throws OrtException {
    this.env = env;
    this.session = session;
    this.inputs = specs(session.getInputInfo());
    this.outputs = specs(session.getOutputInfo());
  }

  public static OnnxSession open(byte[] model, Options options) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = sessionOptions(options)) {
      return new OnnxSession(env, env.createSession(model, so));
    } catch (OrtException e) {
      throw new OnnxRuntimeError("ONNX Runtime rejected the model: " + e.getMessage(), e);
    }
  }

  public static OnnxSession open(Path model, Options options) {
    try {
      return open(Files.readAllBytes(model), options);
    } catch (IOException e) {
      throw new OnnxRuntimeError("cannot read model " + model + ": " + e.getMessage(), e);
    }
  }

  /** The session options every Shoal session is opened with (the caller closes them). */
  public static OrtSession.SessionOptions sessionOptions(Options options) throws OrtException {
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    so.setIntraOpNumThreads(options.intraOpThreads());
    so.setInterOpNumThreads(1);
    so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    if (options.profiling()) {
      so.enableProfiling(Path.of(System.getProperty("java.io.tmpdir"), "shoal-ort-profile").toString());
    }
    return so;
  }

  public List<TensorSpec> inputs() {
    return inputs;
  }

  public List<TensorSpec> outputs() {
    return outputs;
  }

  /** Runs the model and returns every output, in the model's output order. */
  public Map<String, TensorData> run(Map<String, TensorData> feeds) {
    return run(feeds, null);
  }

  /**
   * Runs the model and returns the requested outputs ({@code null}: all).
   *
   * @throws OnnxRuntimeError naming the missing / unexpected input, or ONNX Runtime's own message
   */
  public Map<String, TensorData> run(Map<String, TensorData> feeds, Set<String> wanted) {
    checkFeeds(feeds);
    Map<String, OnnxTensor> ortInputs = new LinkedHashMap<>();
    try {
      for (TensorSpec spec : inputs) {
        ortInputs.put(spec.name(), toOrt(feeds.get(spec.name()), ortInputs.size()));
      }
      Set<String> names = wanted == null ? session.getOutputNames() : wanted;
      try (OrtSession.Result result = session.run(ortInputs, names)) {
        Map<String, TensorData> out = new LinkedHashMap<>();
        for (Map.Entry<String, OnnxValue> e : result) {
          out.put(e.getKey(), fromOrt(e.getKey(), e.getValue()));
        }
        return out;
      }
    } catch (OrtException e) {
      throw new OnnxRuntimeError("ONNX Runtime failed: " + e.getMessage(), e);
    } finally {
      ortInputs.values().forEach(OnnxTensor::close);
    }
  }

  /**
   * Runs {@code chain} one session after another on one machine: each session takes its inputs, by
   * name, from the previous session's outputs (the first from {@code feeds}); returns the last
   * session's outputs. Intermediate tensors stay inside ONNX Runtime, so chaining costs no copies
   * through the Java heap; only the first inputs and the last outputs cross it.
   */
  public static Map<String, TensorData> runChained(List<OnnxSession> chain, Map<String, TensorData> feeds) {
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("an empty chain of sessions");
    }
    OnnxSession first = chain.get(0);
    first.checkFeeds(feeds);
    Map<String, OnnxTensor> firstInputs = new LinkedHashMap<>();
    OrtSession.Result previous = null;
    try {
      for (TensorSpec spec : first.inputs) {
        firstInputs.put(spec.name(), first.toOrt(feeds.get(spec.name()), firstInputs.size()));
      }
      Map<String, OnnxTensor> carried = firstInputs;
      for (int i = 0; i < chain.size(); i++) {
        OnnxSession stage = chain.get(i);
        Map<String, OnnxTensor> stageInputs = new LinkedHashMap<>();
        for (TensorSpec spec : stage.inputs) {
          OnnxTensor t = carried.get(spec.name());
          if (t == null) {
            throw new OnnxRuntimeError("session " + i + " of the chain needs '" + spec.name()
                + "', which the previous one does not produce (it gives " + carried.keySet() + ")");
          }
          stageInputs.put(spec.name(), t);
        }
        OrtSession.Result result = stage.session.run(stageInputs);
        if (previous != null) {
          previous.close();
        }
        previous = result;
        carried = new LinkedHashMap<>();
        for (Map.Entry<String, OnnxValue> e : result) {
          if (!(e.getValue() instanceof OnnxTensor t)) {
            throw new OnnxRuntimeError("output '" + e.getKey() + "' of session " + i + " is not a tensor");
          }
          carried.put(e.getKey(), t);
        }
      }
      Map<String, TensorData> out = new LinkedHashMap<>();
      for (Map.Entry<String, OnnxTensor> e : carried.entrySet()) {
        out.put(e.getKey(), fromOrt(e.getKey(), e.getValue()));
      }
      return out;
    } catch (OrtException e) {
      throw new OnnxRuntimeError("ONNX Runtime failed: " + e.getMessage(), e);
    } finally {
      firstInputs.values().forEach(OnnxTensor::close);
      if (previous != null) {
        previous.close();
      }
    }
  }

  private void checkFeeds(Map<String, TensorData> feeds) {
    for (TensorSpec spec : inputs) {
      TensorData t = feeds.get(spec.name());
      if (t == null) {
        throw new OnnxRuntimeError("missing input '" + spec.name() + "' (model expects " + inputs + ")");
      }
      if (!spec.accepts(t)) {
        throw new OnnxRuntimeError("input '" + spec.name() + "' is " + t.dtype() + Arrays.toString(t.shape())
            + ", model expects " + spec);
      }
    }
  }

  /** Ends profiling (when enabled) and returns the path of ONNX Runtime's JSON trace. */
  public Path endProfiling() {
    try {
      return Path.of(session.endProfiling());
    } catch (OrtException e) {
      throw new OnnxRuntimeError("cannot end profiling: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new OnnxRuntimeError("cannot close session: " + e.getMessage(), e);
    }
  }

  /** The tensor over this thread's direct buffer for input {@code slot}, holding a copy of {@code t}'s bytes. */
  private OnnxTensor toOrt(TensorData t, int slot) throws OrtException {
    ByteBuffer[] buffers = INPUT_BUFFERS.get();
    if (buffers.length <= slot) {
      buffers = Arrays.copyOf(buffers, slot + 1);
      INPUT_BUFFERS.set(buffers);
    }
    int n = t.data().length;
    if (buffers[slot] == null || buffers[slot].capacity() < n) {
      buffers[slot] = ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder());
    }
    ByteBuffer buf = buffers[slot].clear().limit(n);
    buf.put(t.data()).flip();
    return OnnxTensor.createTensor(env, buf, t.shape(), javaType(t.dtype()));
  }

  private static TensorData fromOrt(String name, OnnxValue value) throws OrtException {
    if (!(value instanceof OnnxTensor tensor)) {
      throw new OnnxRuntimeError("output '" + name + "' is a " + value.getType() + ", only tensors are supported");
    }
    TensorInfo info = tensor.getInfo();
    DType dtype = dtype(info.type, name);
    // a Java array holds at most 2^31 - 9 bytes: say so instead of failing inside ONNX Runtime's copy
    if (info.getNumElements() > (Integer.MAX_VALUE - 8L) / dtype.byteSize()) {
      throw new OnnxRuntimeError("output '" + name + "' has shape " + Arrays.toString(info.getShape()) + ": "
          + info.getNumElements() + " elements of " + dtype + ", more than one Java array can hold");
    }
    // getByteBuffer() already copies the native output into a fresh heap buffer: take its array
    // rather than copying a second time.
    ByteBuffer bytes = tensor.getByteBuffer();
    byte[] data;
    if (bytes.hasArray() && bytes.arrayOffset() == 0 && bytes.remaining() == bytes.array().length) {
      data = bytes.array();
    } else {
      data = new byte[bytes.remaining()];
      bytes.get(data);
    }
    return new TensorData(name, dtype, info.getShape(), data);
  }

  private static List<TensorSpec> specs(Map<String, NodeInfo> infos) {
    List<TensorSpec> specs = new ArrayList<>();
    for (NodeInfo n : infos.values()) {
      if (!(n.getInfo() instanceof TensorInfo ti)) {
        throw new OnnxRuntimeError("'" + n.getName() + "' is not a tensor; only tensor inputs/outputs are supported");
      }
      specs.add(new TensorSpec(n.getName(), dtype(ti.type, n.getName()), ti.getShape()));
    }
    return List.copyOf(specs);
  }

  private static DType dtype(OnnxJavaType type, String name) {
    return switch (type) {
      case FLOAT -> DType.FLOAT;
      case DOUBLE -> DType.DOUBLE;
      case INT8 -> DType.INT8;
      case UINT8 -> DType.UINT8;
      case INT32 -> DType.INT32;
      case INT64 -> DType.INT64;
      case BOOL -> DType.BOOL;
      case FLOAT16 -> DType.FLOAT16;
      default -> throw new OnnxRuntimeError("tensor '" + name + "' has unsupported element type " + type);
    };
  }

  private static OnnxJavaType javaType(DType dtype) {
    return switch (dtype) {
      case FLOAT -> OnnxJavaType.FLOAT;
      case DOUBLE -> OnnxJavaType.DOUBLE;
      case INT8 -> OnnxJavaType.INT8;
      case UINT8 -> OnnxJavaType.UINT8;
      case INT32 -> OnnxJavaType.INT32;
      case INT64 -> OnnxJavaType.INT64;
      case BOOL -> OnnxJavaType.BOOL;
      case FLOAT16 -> OnnxJavaType.FLOAT16;
    };
  }
}
