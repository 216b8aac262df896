package dev.shoal.runtime.coordinator;

import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.DType;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.Stage;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The sizes of the frames a plan sends between its stages, as its stage models declare them: each
 * frame from one stage to one consumer (a stage, or the response) carries a fixed part and a part
 * per sample of the batch. With them a request whose batch would make a frame larger than the
 * frame limit is refused before any work, instead of failing at the worker that receives it after
 * the stages before it have run (issue 16: a batch of 5,000 images made a 188 MB frame that the
 * next worker refused, and the client waited 30 s for a 504).
 *
 * <p>The same sizes bound dynamic batching: a plan whose max batch size would make a frame larger
 * than the limit is refused when it starts ({@link #checkMaxBatch}), since the batcher joins
 * admitted requests into one frame that no single request's check saw. The request's own frame
 * to the stages that read it counts too (its size from the model's declared inputs).
 *
 * <p>Only frames whose every tensor declares its shape (the first dimension may be the batch,
 * the others fixed) are known; a frame with any other dynamic dimension is left out, so nothing
 * is refused on a guess.
 */
final class FrameSizes {

  /** The frame one stage sends one consumer: {@code fixedBytes + perSampleBytes * batch}. */
  record Frame(String from, String to, List<String> tensors, long fixedBytes, long perSampleBytes) {

    long bytes(long batch) {
      long perSample = batch > 0 && perSampleBytes > (Long.MAX_VALUE - fixedBytes) / batch
          ? Long.MAX_VALUE - fixedBytes : perSampleBytes * batch;
      return fixedBytes + perSample;
    }

    /** Largest batch whose frame fits {@code limit}; Long.MAX_VALUE if the frame does not grow with it. */
    long maxBatch(long limit) {
      return perSampleBytes == 0 ? Long.MAX_VALUE : Math.max(0, (limit - fixedBytes) / perSampleBytes);
    }

    /** Who sends the frame and to whom, in words: "stage 'a' would send stage 'b'". */
    String hop() {
      String sender = from.equals(Plan.REQUEST) ? "the coordinator (the request)" : "stage '" + from + "'";
      String receiver = to.equals(Plan.RESPONSE) ? "the coordinator (the response)" : "stage '" + to + "'";
      return sender + " would send " + receiver;
    }

    /** The frame's tensors and their size: "h: 16,384 bytes per sample" (+ the fixed bytes, if any). */
    String contents() {
      return String.join(", ", tensors) + ": " + String.format(Locale.ROOT, "%,d bytes per sample", perSampleBytes)
          + (fixedBytes > 0 ? String.format(Locale.ROOT, " + %,d", fixedBytes) : "");
    }
  }

  private final String plan;
  private final List<Frame> frames;

  private FrameSizes(String plan, List<Frame> frames) {
    this.plan = plan;
    this.frames = List.copyOf(frames);
  }

  List<Frame> frames() {
    return frames;
  }

  /** The known frames of a plan, read from its stage models' declared outputs. */
  static FrameSizes of(PlanBundle bundle) {
    Plan plan = bundle.plan();
    // node (a stage, or the request) -> tensor it sends -> {fixed, perSample}, null if unknown
    Map<String, Map<String, long[]>> sizes = new HashMap<>();
    for (Stage s : plan.stages()) {
      Map<String, long[]> outputs = new HashMap<>();
      for (ValueInfoProto v : OnnxModelIO.parse(bundle.model(s), s.model().file()).getGraph().getOutputList()) {
        outputs.put(v.getName(), declaredBytes(v));
      }
      sizes.put(s.id(), outputs);
    }
    Map<String, long[]> request = new HashMap<>();
    for (TensorSpec t : plan.inputs()) {
      request.put(t.name(), declaredBytes(t.dtype(), t.shape()));
    }
    sizes.put(Plan.REQUEST, request);
    Map<List<String>, Set<String>> byHop = new LinkedHashMap<>(); // [from, to] -> tensors
    for (Edge e : plan.links()) {
      byHop.computeIfAbsent(List.of(e.from().node(), e.to().node()), k -> new LinkedHashSet<>()).add(e.from().tensor());
    }
    List<Frame> frames = new ArrayList<>();
    for (Map.Entry<List<String>, Set<String>> hop : byHop.entrySet()) {
      long fixed = 0;
      long perSample = 0;
      boolean known = true;
      for (String tensor : hop.getValue()) {
        long[] b = sizes.get(hop.getKey().get(0)).get(tensor);
        if (b == null) {
          known = false;
          break;
        }
        fixed += b[0];
        perSample += b[1];
      }
      if (known) {
        frames.add(new Frame(hop.getKey().get(0), hop.getKey().get(1), List.copyOf(hop.getValue()), fixed, perSample));
      }
    }
    return new FrameSizes(plan.name(), frames);
  }

  /**
   * {fixed bytes, bytes per sample} of a declared output: all dimensions fixed, or the first one
   * the batch and the rest fixed; null otherwise.
   */
  private static long[] declaredBytes(ValueInfoProto v) {
    if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
      return null;
    }
    DType dtype;
    try {
      dtype = DType.fromOnnx(v.getType().getTensorType().getElemType());
    } catch (IllegalArgumentException e) {
      return null;
    }
    TensorShapeProto shape = v.getType().getTensorType().getShape();
    long[] dims = new long[shape.getDimCount()];
    for (int i = 0; i < dims.length; i++) {
      TensorShapeProto.Dimension d = shape.getDim(i);
      dims[i] = d.hasDimValue() ? d.getDimValue() : -1;
    }
    return declaredBytes(dtype, dims);
  }

  /** {fixed bytes, bytes per sample} of a shape whose dynamic dimensions are negative; null if unknown. */
  private static long[] declaredBytes(DType dtype, long[] dims) {
    long bytes = dtype.byteSize();
    boolean batched = false;
    for (int i = 0; i < dims.length; i++) {
      if (dims[i] < 0) {
        if (i != 0) {
          return null;
        }
        batched = true;
      } else {
        if (dims[i] != 0 && bytes > Long.MAX_VALUE / dims[i]) {
          return null;
        }
        bytes *= dims[i];
      }
    }
    return batched ? new long[] {0, bytes} : new long[] {bytes, 0};
  }

  /** The first frame that a request of {@code batch} samples would make larger than {@code limit}. */
  Optional<Frame> overLimit(long batch, long limit) {
    return frames.stream().filter(f -> f.bytes(batch) > limit).findFirst();
  }

  /**
   * Refuses a batch that would make a frame larger than {@code limit} (TOO_LARGE, naming the stage,
   * the frame's size and the largest batch the plan carries).
   */
  void checkBatch(long batch, long limit) {
    Optional<Frame> over = overLimit(batch, limit);
    if (over.isEmpty()) {
      return;
    }
    Frame f = over.get();
    throw new InferenceException(Kind.TOO_LARGE, String.format(Locale.ROOT,
        "a batch of %,d is too large for plan '%s': %s a frame of %,d bytes (%s), over the %,d-byte frame limit;"
            + " this plan carries at most %,d per request, split it",
        batch, plan, f.hop(), f.bytes(batch), f.contents(), limit, mostPerRequest(limit)));
  }

  /**
   * Refuses dynamic batching up to {@code maxBatchSize} samples when a batch that large would make
   * a frame larger than {@code limit} (one line naming the stage, the frame's size and the largest
   * max batch size that fits).
   */
  void checkMaxBatch(int maxBatchSize, long limit) {
    Optional<Frame> over = overLimit(maxBatchSize, limit);
    if (over.isEmpty()) {
      return;
    }
    Frame f = over.get();
    throw new IllegalArgumentException(String.format(Locale.ROOT,
        "plan '%s': dynamic batching up to %,d samples would pass the frame limit: at %,d samples %s a frame of"
            + " %,d bytes (%s), over the %,d-byte limit; set the max batch size to at most %,d",
        plan, maxBatchSize, maxBatchSize, f.hop(), f.bytes(maxBatchSize), f.contents(), limit, mostPerRequest(limit)));
  }

  /** The largest batch whose every frame fits {@code limit}. */
  private long mostPerRequest(long limit) {
    return frames.stream().mapToLong(x -> x.maxBatch(limit)).min().orElse(Long.MAX_VALUE);
  }
}
