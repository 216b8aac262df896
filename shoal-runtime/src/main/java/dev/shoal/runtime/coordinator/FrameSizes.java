package dev.shoal.runtime.coordinator;

import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.shoal.model.DType;
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
    Map<String, Map<String, long[]>> sizes = new HashMap<>(); // stage -> output -> {fixed, perSample}, null if unknown
    for (Stage s : plan.stages()) {
      Map<String, long[]> outputs = new HashMap<>();
      for (ValueInfoProto v : OnnxModelIO.parse(bundle.model(s), s.model().file()).getGraph().getOutputList()) {
        outputs.put(v.getName(), declaredBytes(v));
      }
      sizes.put(s.id(), outputs);
    }
    Map<List<String>, Set<String>> byHop = new LinkedHashMap<>(); // [from, to] -> tensors
    for (Edge e : plan.links()) {
      if (!e.from().node().equals(Plan.REQUEST)) {
        byHop.computeIfAbsent(List.of(e.from().node(), e.to().node()), k -> new LinkedHashSet<>()).add(e.from().tensor());
      }
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
    long bytes = dtype.byteSize();
    boolean batched = false;
    for (int i = 0; i < shape.getDimCount(); i++) {
      TensorShapeProto.Dimension d = shape.getDim(i);
      if (!d.hasDimValue() || d.getDimValue() < 0) {
        if (i != 0) {
          return null;
        }
        batched = true;
      } else {
        if (d.getDimValue() != 0 && bytes > Long.MAX_VALUE / d.getDimValue()) {
          return null;
        }
        bytes *= d.getDimValue();
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
    long most = frames.stream().mapToLong(x -> x.maxBatch(limit)).min().orElse(Long.MAX_VALUE);
    String to = f.to().equals(Plan.RESPONSE) ? "the coordinator (the response)" : "stage '" + f.to() + "'";
    throw new InferenceException(Kind.TOO_LARGE, String.format(Locale.ROOT,
        "a batch of %,d is too large for plan '%s': stage '%s' would send %s a frame of %,d bytes (%s: %,d bytes"
            + " per sample%s), over the %,d-byte frame limit; this plan carries at most %,d per request, split it",
        batch, plan, f.from(), to, f.bytes(batch), String.join(", ", f.tensors()), f.perSampleBytes(),
        f.fixedBytes() > 0 ? String.format(Locale.ROOT, " + %,d", f.fixedBytes()) : "", limit, most));
  }
}
