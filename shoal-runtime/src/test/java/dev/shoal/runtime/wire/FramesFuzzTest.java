package dev.shoal.runtime.wire;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.TensorFrame;
import java.util.Map;

/**
 * Fuzzes what a worker does with every frame a peer sends it ({@link Frames#decode}): whatever
 * arrives, decoding returns tensors whose bytes match their shape, or refuses the frame with a
 * {@link FrameException}; nothing else may escape (it would break the peer's stream or the
 * worker). In CI (regression mode) each runs its committed inputs; {@code JAZZER_FUZZ=1} fuzzes.
 */
class FramesFuzzTest {
  private static final int LIMIT = 1 << 20;

  /** Any bytes on the wire, parsed as a frame. */
  @FuzzTest(maxDuration = "15s")
  void anyBytes(byte[] data) {
    Frame frame;
    try {
      frame = Frame.parseFrom(data);
    } catch (InvalidProtocolBufferException e) {
      return; // gRPC refuses the message before our code sees it
    }
    decodeOrRefuse(frame);
  }

  /**
   * Frames with fuzzed headers (dtype, shape, codec) and payloads under a correct checksum, so
   * that the checks past the checksum and every codec's decoder are reached.
   */
  @FuzzTest(maxDuration = "15s")
  void checksummedFrames(FuzzedDataProvider in) {
    Frame.Builder f = Frame.newBuilder().setRequestId(in.consumeLong()).setPlanEpoch(in.consumeLong());
    int tensors = in.consumeInt(1, 3);
    for (int i = 0; i < tensors; i++) {
      TensorFrame.Builder t = TensorFrame.newBuilder()
          .setName(in.consumeString(4))
          .setDtype(in.consumeInt(-1, 17))
          .setCodecValue(in.consumeInt(0, 6));
      int rank = in.consumeInt(0, 4);
      for (int d = 0; d < rank; d++) {
        t.addShape(in.consumeBoolean() ? in.consumeLong() : in.consumeLong(-1, 64));
      }
      byte[] payload = in.consumeBytes(in.consumeInt(0, 8192));
      f.addTensors(t.setPayload(ByteString.copyFrom(payload)).setCrc32C(Frames.crc(payload)));
    }
    decodeOrRefuse(f.build());
  }

  private static void decodeOrRefuse(Frame frame) {
    Map<String, TensorData> out;
    try {
      out = Frames.decode(frame, LIMIT);
    } catch (FrameException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    long total = 0;
    for (TensorData t : out.values()) {
      assertThat((long) t.data().length).isEqualTo(TensorData.elementCount(t.shape()) * t.dtype().byteSize());
      total += t.data().length;
    }
    assertThat(total).isLessThanOrEqualTo(LIMIT);
  }
}
