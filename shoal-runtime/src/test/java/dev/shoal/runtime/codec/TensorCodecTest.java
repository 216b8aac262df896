package dev.shoal.runtime.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorCodecTest {
  private static final long[] SHAPE = {3, 5, 67}; // not a multiple of the int8 block

  /** ReLU-like activations: half zeros, the rest positive with a wide range. */
  private static TensorData activations(long seed) {
    Random r = new Random(seed);
    float[] v = new float[3 * 5 * 67];
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextBoolean() ? 0f : (float) Math.abs(r.nextGaussian() * 3);
    }
    return TensorData.ofFloats("act", SHAPE, v);
  }

  private static TensorData roundTrip(TensorCodec c, TensorData t) {
    TensorCodec.Encoded e = c.encode(t);
    return TensorCodec.of(e.codec()).decode(t.name(), t.dtype(), t.shape(), e.payload());
  }

  @Test
  void losslessCodecsRoundTripExactly() {
    TensorData t = activations(1);
    byte[] ints = new byte[4 * 8 * 2];
    new Random(2).nextBytes(ints);
    TensorData i64 = new TensorData("ids", DType.INT64, new long[] {4, 2}, ints);
    for (String label : new String[] {"raw", "lz4", "zstd"}) {
      TensorCodec c = TensorCodec.parse(label);
      assertThat(c.lossless()).isTrue();
      assertThat(roundTrip(c, t)).isEqualTo(t);
      assertThat(roundTrip(c, i64)).isEqualTo(i64);
    }
  }

  @Test
  void compressingCodecsShrinkSparseActivations() {
    TensorData t = activations(3);
    assertThat(Lz4Codec.INSTANCE.encode(t).payload().length).isLessThan(t.data().length);
    assertThat(ZstdCodec.INSTANCE.encode(t).payload().length).isLessThan(t.data().length);
  }

  @Test
  void fp16RoundTripsEveryHalfExactly() {
    for (int h = 0; h < 65536; h++) {
      float f = Fp16Codec.toFloat((short) h);
      if (Float.isNaN(f)) {
        assertThat(Float.isNaN(Fp16Codec.toFloat(Fp16Codec.toHalf(f)))).isTrue();
      } else {
        assertThat(Fp16Codec.toHalf(f) & 0xffff).as("half %04x", h).isEqualTo(h);
      }
    }
  }

  @Test
  void fp16RelativeErrorWithinHalfAnUlp() {
    Random r = new Random(4);
    for (int i = 0; i < 200_000; i++) {
      float x = (float) (Math.exp(r.nextDouble() * 20 - 9) * (r.nextBoolean() ? 1 : -1));
      float y = Fp16Codec.toFloat(Fp16Codec.toHalf(x));
      assertThat(Math.abs(y - x)).as("x=%s", x).isLessThanOrEqualTo(Math.abs(x) * 0x1p-11f);
    }
    assertThat(Fp16Codec.toFloat(Fp16Codec.toHalf(70000f))).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Fp16Codec.toFloat(Fp16Codec.toHalf(65504f))).isEqualTo(65504f);
    assertThat(Fp16Codec.toFloat(Fp16Codec.toHalf(1e-8f))).isEqualTo(0f);
  }

  @Test
  void fp16HalvesTheBytesAndStaysClose() {
    TensorData t = activations(5);
    TensorCodec.Encoded e = Fp16Codec.INSTANCE.encode(t);
    assertThat(e.codec()).isEqualTo(Codec.CODEC_FP16);
    assertThat(e.payload()).hasSize(t.data().length / 2);
    float[] x = t.floats();
    float[] y = roundTrip(Fp16Codec.INSTANCE, t).floats();
    for (int i = 0; i < x.length; i++) {
      assertThat(Math.abs(y[i] - x[i])).isLessThanOrEqualTo(Math.abs(x[i]) * 0x1p-11f + 1e-7f);
    }
  }

  @Test
  void int8ErrorWithinHalfAStepOfEachBlock() {
    TensorData t = activations(6);
    TensorCodec.Encoded e = Int8BlockCodec.INSTANCE.encode(t);
    assertThat(e.codec()).isEqualTo(Codec.CODEC_INT8);
    int n = t.floats().length;
    assertThat(e.payload()).hasSize(n + 4 * ((n + Int8BlockCodec.BLOCK - 1) / Int8BlockCodec.BLOCK));
    float[] x = t.floats();
    float[] y = roundTrip(Int8BlockCodec.INSTANCE, t).floats();
    for (int start = 0; start < n; start += Int8BlockCodec.BLOCK) {
      int end = Math.min(n, start + Int8BlockCodec.BLOCK);
      float max = 0;
      for (int i = start; i < end; i++) {
        max = Math.max(max, Math.abs(x[i]));
      }
      for (int i = start; i < end; i++) {
        assertThat(Math.abs(y[i] - x[i])).isLessThanOrEqualTo(max / 254f * 1.0001f);
      }
    }
  }

  @Test
  void lossyCodecsSendOtherTensorsRaw() {
    TensorData i64 = new TensorData("ids", DType.INT64, new long[] {2}, new byte[16]);
    float[] bad = {1f, Float.NaN, 2f};
    TensorData nan = TensorData.ofFloats("nan", new long[] {3}, bad);
    assertThat(Fp16Codec.INSTANCE.encode(i64).codec()).isEqualTo(Codec.CODEC_RAW);
    assertThat(Int8BlockCodec.INSTANCE.encode(i64).codec()).isEqualTo(Codec.CODEC_RAW);
    TensorCodec.Encoded e = Int8BlockCodec.INSTANCE.encode(nan);
    assertThat(e.codec()).isEqualTo(Codec.CODEC_RAW);
    assertThat(Arrays.equals(roundTrip(Int8BlockCodec.INSTANCE, nan).data(), nan.data())).isTrue();
  }

  @Test
  void malformedPayloadsAreRejected() {
    TensorData t = activations(7);
    byte[] lz = Lz4Codec.INSTANCE.encode(t).payload();
    byte[] zs = ZstdCodec.INSTANCE.encode(t).payload();
    byte[] garbage = new byte[100];
    new Random(8).nextBytes(garbage);
    assertThatThrownBy(() -> Lz4Codec.INSTANCE.decode("act", DType.FLOAT, SHAPE, garbage))
        .isInstanceOf(CodecException.class).hasMessageContaining("act");
    assertThatThrownBy(() -> Lz4Codec.INSTANCE.decode("act", DType.FLOAT, new long[] {3, 5, 66}, lz))
        .isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> ZstdCodec.INSTANCE.decode("act", DType.FLOAT, SHAPE, garbage))
        .isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> ZstdCodec.INSTANCE.decode("act", DType.FLOAT, new long[] {3, 5, 66}, zs))
        .isInstanceOf(CodecException.class).hasMessageContaining("declares");
    assertThatThrownBy(() -> RawCodec.INSTANCE.decode("act", DType.FLOAT, SHAPE, new byte[12]))
        .isInstanceOf(CodecException.class).hasMessageContaining("raw payload of 12 bytes");
    assertThatThrownBy(() -> Int8BlockCodec.INSTANCE.decode("act", DType.FLOAT, SHAPE, new byte[7]))
        .isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> RawCodec.INSTANCE.decode("act", DType.FLOAT, new long[] {1L << 40, 1L << 40}, new byte[0]))
        .isInstanceOf(CodecException.class);
  }
}
