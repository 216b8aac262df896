package dev.shoal.runtime.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.proto.Frame;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FramesTest {
  private final TensorData a = TensorData.ofFloats("a", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
  private final TensorData b = TensorData.ofFloats("b", new long[] {1}, new float[] {7});

  @Test
  void framesCarryTensorsAcross() {
    for (String codec : new String[] {"raw", "fp16", "int8", "lz4", "zstd", "int8c+zstd", "sparse+lz4", "int4"}) {
      Frame f = Frames.encode(42, 3, 1, List.of(a, b), TensorCodec.parse(codec));
      Frame parsed = parse(f.toByteArray());
      Map<String, TensorData> out = Frames.decode(parsed, 1 << 20);
      assertThat(out.keySet()).containsExactly("a", "b");
      assertThat(parsed.getRequestId()).isEqualTo(42);
      assertThat(parsed.getPlanEpoch()).isEqualTo(3);
      if (TensorCodec.parse(codec).lossless()) {
        assertThat(out.get("a")).isEqualTo(a);
      }
    }
  }

  @Test
  void aFlippedPayloadBitFailsTheChecksum() {
    Frame f = Frames.encode(7, 1, 0, List.of(a), TensorCodec.parse("raw"));
    byte[] payload = f.getTensors(0).getPayload().toByteArray();
    payload[5] ^= 0x10;
    Frame bad = f.toBuilder().setTensors(0, f.getTensors(0).toBuilder().setPayload(ByteString.copyFrom(payload))).build();
    assertThatThrownBy(() -> Frames.decode(bad, 1 << 20)).isInstanceOf(FrameException.class)
        .hasMessageContaining("request 7").hasMessageContaining("'a'").hasMessageContaining("checksum");
  }

  @Test
  void unexpectedFramesAreRejectedWithTheReason() {
    Frame f = Frames.encode(8, 1, 0, List.of(a), TensorCodec.parse("raw"));
    Frame tooBig = f.toBuilder().setTensors(0, f.getTensors(0).toBuilder().setShape(0, 1L << 20)).build();
    assertThatThrownBy(() -> Frames.decode(tooBig, 1 << 20)).isInstanceOf(FrameException.class)
        .hasMessageContaining("limit");
    Frame badType = f.toBuilder().setTensors(0, f.getTensors(0).toBuilder().setDtype(999)).build();
    assertThatThrownBy(() -> Frames.decode(badType, 1 << 20)).hasMessageContaining("999");
    Frame twice = f.toBuilder().addTensors(f.getTensors(0)).build();
    assertThatThrownBy(() -> Frames.decode(twice, 1 << 20)).hasMessageContaining("twice");
    Frame negative = f.toBuilder().setTensors(0, f.getTensors(0).toBuilder().setShape(0, -2)).build();
    assertThatThrownBy(() -> Frames.decode(negative, 1 << 20)).isInstanceOf(FrameException.class);
    Frame shapeLies = f.toBuilder().setTensors(0, f.getTensors(0).toBuilder().setShape(0, 3)).build();
    assertThatThrownBy(() -> Frames.decode(shapeLies, 1 << 20)).hasMessageContaining("raw payload");
  }

  private static Frame parse(byte[] bytes) {
    try {
      return Frame.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
