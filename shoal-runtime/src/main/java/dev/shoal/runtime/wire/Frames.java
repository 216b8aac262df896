package dev.shoal.runtime.wire;

import com.google.protobuf.UnsafeByteOperations;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.codec.CodecException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.proto.Cancel;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.TensorFrame;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/** Tensors to frames and back, with CRC32C checksums and size limits checked before allocating. */
public final class Frames {
  /** Default cap on a frame, encoded or decoded (64 MiB). */
  public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

  private Frames() {}

  /**
   * A frame of {@code tensors} under their own names, all through one codec.
   *
   * @param stage the stage it is addressed to; empty: the coordinator
   * @param fromStage the stage that made it; empty: the coordinator
   * @param deadlineMicros the request's deadline, microseconds since 1970 (0: none)
   */
  public static Frame encode(long requestId, long epoch, String stage, String fromStage, long deadlineMicros,
      Collection<TensorData> tensors, TensorCodec codec) {
    Frame.Builder f = header(requestId, epoch, stage, fromStage, deadlineMicros);
    for (TensorData t : tensors) {
      f.addTensors(tensor(t, t.name(), codec));
    }
    return f.build();
  }

  /** A frame's addressing, to add tensors to. */
  public static Frame.Builder header(long requestId, long epoch, String stage, String fromStage, long deadlineMicros) {
    return Frame.newBuilder().setRequestId(requestId).setPlanEpoch(epoch).setStage(stage).setFromStage(fromStage)
        .setDeadlineUnixMicros(deadlineMicros);
  }

  /**
   * One tensor of a frame under {@code name} (the consumer's input), encoded by {@code codec}. The
   * encoded bytes are wrapped, not copied: neither side changes them afterwards.
   */
  public static TensorFrame tensor(TensorData t, String name, TensorCodec codec) {
    TensorCodec.Encoded e = codec.encode(t);
    TensorFrame.Builder tf = TensorFrame.newBuilder()
        .setName(name)
        .setDtype(t.dtype().onnxCode())
        .setCodec(e.codec())
        .setEntropy(e.entropy())
        .setPayload(UnsafeByteOperations.unsafeWrap(e.payload()))
        .setCrc32C(crc(e.payload()));
    for (long d : t.shape()) {
      tf.addShape(d);
    }
    return tf.build();
  }

  /** A request's failure at {@code fromStage}, for the coordinator. */
  public static Frame error(long requestId, long epoch, String fromStage, String message) {
    return Frame.newBuilder().setRequestId(requestId).setPlanEpoch(epoch).setFromStage(fromStage)
        .setError(message).build();
  }

  /**
   * The coordinator's word that a request's work on {@code epoch} is no longer wanted, for every
   * stage of that epoch on the receiving worker. It carries the request's deadline, so the worker
   * knows how long to remember the request (frames of it may still be on their way).
   */
  public static Frame cancel(long requestId, long epoch, long deadlineMicros, String reason) {
    return Frame.newBuilder().setRequestId(requestId).setPlanEpoch(epoch).setDeadlineUnixMicros(deadlineMicros)
        .setCancel(Cancel.newBuilder().setReason(reason)).build();
  }

  /**
   * Decodes and verifies every tensor of a frame.
   *
   * @throws FrameException naming the request, tensor and what is wrong
   */
  public static Map<String, TensorData> decode(Frame frame, int maxFrameBytes) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    long total = 0;
    for (TensorFrame tf : frame.getTensorsList()) {
      String where = "request " + frame.getRequestId() + ", tensor '" + tf.getName() + "'";
      if (tf.getName().isEmpty()) {
        throw new FrameException("request " + frame.getRequestId() + ": tensor without a name");
      }
      if (out.containsKey(tf.getName())) {
        throw new FrameException(where + ": tensor appears twice");
      }
      DType dtype;
      try {
        dtype = DType.fromOnnx(tf.getDtype());
      } catch (IllegalArgumentException e) {
        throw new FrameException(where + ": " + e.getMessage());
      }
      long[] shape = tf.getShapeList().stream().mapToLong(Long::longValue).toArray();
      int size;
      try {
        size = TensorCodec.rawSize(tf.getName(), dtype, shape);
      } catch (CodecException e) {
        throw new FrameException(where + ": " + e.getMessage());
      }
      total += size;
      if (total > maxFrameBytes) {
        throw new FrameException(where + ": frame decodes to more than the " + maxFrameBytes + "-byte limit");
      }
      byte[] payload = tf.getPayload().toByteArray();
      if (crc(payload) != tf.getCrc32C()) {
        throw new FrameException(where + ": checksum mismatch (payload corrupted)");
      }
      try {
        out.put(tf.getName(), TensorCodec.of(tf.getCodec(), tf.getEntropy()).decode(tf.getName(), dtype, shape, payload));
      } catch (CodecException e) {
        throw new FrameException("request " + frame.getRequestId() + ": " + e.getMessage());
      }
    }
    return out;
  }

  /** Bytes a frame puts on the wire (payloads and header fields). */
  public static long wireBytes(Frame frame) {
    return frame.getSerializedSize();
  }

  static int crc(byte[] payload) {
    CRC32C c = new CRC32C();
    c.update(payload);
    return (int) c.getValue();
  }
}
