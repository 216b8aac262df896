package dev.shoal.runtime.wire;

import com.google.protobuf.ByteString;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.codec.CodecException;
import dev.shoal.runtime.codec.TensorCodec;
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

  public static Frame encode(
      long requestId, long epoch, int stage, Collection<TensorData> tensors, TensorCodec codec) {
    Frame.Builder f = Frame.newBuilder().setRequestId(requestId).setPlanEpoch(epoch).setStageIndex(stage);
    for (TensorData t : tensors) {
      TensorCodec.Encoded e = codec.encode(t);
      TensorFrame.Builder tf = TensorFrame.newBuilder()
          .setName(t.name())
          .setDtype(t.dtype().onnxCode())
          .setCodec(e.codec())
          .setEntropy(e.entropy())
          .setPayload(ByteString.copyFrom(e.payload()))
          .setCrc32C(crc(e.payload()));
      for (long d : t.shape()) {
        tf.addShape(d);
      }
      f.addTensors(tf);
    }
    return f.build();
  }

  public static Frame error(long requestId, long epoch, int stage, String message) {
    return Frame.newBuilder().setRequestId(requestId).setPlanEpoch(epoch).setStageIndex(stage)
        .setError(message).build();
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
