package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors as IEEE 754 half precision, rounded to nearest even: half the bytes, relative
 * error at most 2^-11 in the normal range (|x| in [6.1e-5, 65504]); larger values become infinity,
 * or with {@link #SATURATING} ({@code fp16s}) the largest half of their sign, as the separable
 * network's training simulates its fp16 links (an overflow to infinity would poison a whole batch).
 */
public final class Fp16Codec implements TensorCodec {
  public static final Fp16Codec INSTANCE = new Fp16Codec(false);
  public static final Fp16Codec SATURATING = new Fp16Codec(true);
  private static final float HALF_MAX = 65504f;

  private final boolean saturating;

  private Fp16Codec(boolean saturating) {
    this.saturating = saturating;
  }

  @Override
  public Codec id() {
    return saturating ? Codec.CODEC_FP16_SATURATING : Codec.CODEC_FP16;
  }

  @Override
  public String label() {
    return saturating ? "fp16s" : "fp16";
  }

  @Override
  public boolean lossless() {
    return false;
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    return TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize() * 2L;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    ByteBuffer in = ByteBuffer.wrap(tensor.data()).order(ByteOrder.LITTLE_ENDIAN);
    int n = tensor.data().length / 4;
    ByteBuffer out = ByteBuffer.allocate(n * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      float v = in.getFloat(i * 4);
      out.putShort(toHalf(saturating && Float.isFinite(v) ? Math.max(-HALF_MAX, Math.min(HALF_MAX, v)) : v));
    }
    return new Encoded(id(), out.array());
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    if (dtype != DType.FLOAT) {
      throw new CodecException("tensor '" + name + "': fp16 payload declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    if (payload.length != n * 2) {
      throw new CodecException("tensor '" + name + "': fp16 payload of " + payload.length
          + " bytes, " + n + " elements need " + (n * 2));
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      out.putFloat(toFloat(in.getShort(i * 2)));
    }
    return new TensorData(name, dtype, shape, out.array());
  }

  /** float32 to binary16, round to nearest even (Java 17 has no Float.floatToFloat16). */
  static short toHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs >= 0x7f800000) { // infinity or NaN (keep NaN quiet and non-zero)
      return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
    }
    if (abs >= 0x477ff000) { // >= 65520 rounds past the largest half
      return (short) (sign | 0x7c00);
    }
    if (abs < 0x38800000) { // below 2^-14: a half subnormal or zero
      if (abs < 0x33000000) { // at most 2^-25: rounds to zero
        return (short) sign;
      }
      int exp = abs >>> 23;
      int mant = (abs & 0x7fffff) | 0x800000;
      int shift = 126 - exp;
      int m = mant >>> shift;
      int rem = mant & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (m & 1) != 0)) {
        m++;
      }
      return (short) (sign | m);
    }
    int h = ((((abs >>> 23) - 127 + 15)) << 10) | ((abs & 0x7fffff) >>> 13);
    int rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) {
      h++;
    }
    return (short) (sign | h);
  }

  static float toFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0) {
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    if (exp == 31) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
}
