package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors as signed integer codes with one symmetric scale per channel slice
 * ({@link ChannelSlices}): {@code scale = max(max|x| / L, 1e-12)}, {@code q = rint(x / scale)}
 * clamped to {@code [-L, L]}, decoded as {@code q · scale} (all in float32, ties to even), with
 * {@code L = 127} ({@code int8s}) or {@code 7} ({@code int4s}). These are exactly the values the
 * separable network's training and its offline evaluation give its int8/int4 links, so a served
 * width-parallel network answers as it was measured. The error is at most {@code scale / 2}.
 *
 * <p>Payload: {@code slices × scale} as little-endian float32, then the codes: one signed byte each
 * (int8s), or two's-complement nibbles two per byte, the even element in the low nibble, a last
 * odd element's high nibble zero (int4s). A code of {@code -L-1}, a non-zero unused nibble or a
 * scale that is not finite and positive is refused. Tensors holding NaN or infinity travel raw.
 */
public final class SymmetricChannelCodec implements TensorCodec {
  public static final SymmetricChannelCodec INT8 = new SymmetricChannelCodec(8, Codec.CODEC_INT8_SYMMETRIC, "int8s");
  public static final SymmetricChannelCodec INT4 = new SymmetricChannelCodec(4, Codec.CODEC_INT4_SYMMETRIC, "int4s");
  /** The smallest scale, so that an all-zero slice still divides. */
  public static final float MIN_SCALE = 1e-12f;
  private static final int SCALE_BYTES = 4;

  private final int bits;
  private final int levels;
  private final Codec id;
  private final String label;

  private SymmetricChannelCodec(int bits, Codec id, String label) {
    this.bits = bits;
    this.levels = (1 << (bits - 1)) - 1;
    this.id = id;
    this.label = label;
  }

  /** The largest code magnitude: 127 or 7. */
  public int levels() {
    return levels;
  }

  @Override
  public Codec id() {
    return id;
  }

  @Override
  public String label() {
    return label;
  }

  @Override
  public boolean lossless() {
    return false;
  }

  private long codeBytes(long n) {
    return (n * bits + 7) / 8;
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    int n = TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize();
    return (long) ChannelSlices.of(shape, n).count() * SCALE_BYTES + codeBytes(n);
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    ByteBuffer in = ByteBuffer.wrap(tensor.data()).order(ByteOrder.LITTLE_ENDIAN);
    int n = tensor.data().length / 4;
    ChannelSlices slices = ChannelSlices.of(tensor.shape(), n);
    int codes = slices.count() * SCALE_BYTES;
    byte[] payload = new byte[(int) (codes + codeBytes(n))];
    ByteBuffer out = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    for (int s = 0; s < slices.count(); s++) {
      int start = s * slices.length();
      int end = start + slices.length();
      float max = 0;
      for (int i = start; i < end; i++) {
        float v = in.getFloat(i * 4);
        if (!Float.isFinite(v)) {
          return RawCodec.INSTANCE.encode(tensor);
        }
        max = Math.max(max, Math.abs(v));
      }
      float scale = Math.max(max / levels, MIN_SCALE);
      if (!Float.isFinite(levels * scale)) {
        return RawCodec.INSTANCE.encode(tensor);
      }
      out.putFloat(s * SCALE_BYTES, scale);
      for (int i = start; i < end; i++) {
        int q = (int) Math.max(-levels, Math.min(levels, Math.rint(in.getFloat(i * 4) / scale)));
        if (bits == 8) {
          payload[codes + i] = (byte) q;
        } else {
          payload[codes + i / 2] |= (byte) ((q & 0xf) << (4 * (i & 1)));
        }
      }
    }
    return new Encoded(id, payload);
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    if (dtype != DType.FLOAT) {
      throw new CodecException("tensor '" + name + "': " + label + " payload declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    ChannelSlices slices = ChannelSlices.of(shape, n);
    int codes = slices.count() * SCALE_BYTES;
    if (payload.length != codes + codeBytes(n)) {
      throw new CodecException("tensor '" + name + "': " + label + " payload of " + payload.length + " bytes, "
          + slices.count() + " slices and " + n + " elements need " + (codes + codeBytes(n)));
    }
    if (bits == 4 && (n & 1) == 1 && (payload[payload.length - 1] & 0xf0) != 0) {
      throw new CodecException("tensor '" + name + "': int4s payload has bits set past the last element");
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    byte[] data = new byte[n * 4];
    ByteBuffer out = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    for (int s = 0; s < slices.count(); s++) {
      float scale = in.getFloat(s * SCALE_BYTES);
      if (!(scale >= MIN_SCALE) || !Float.isFinite(levels * scale)) {
        throw new CodecException("tensor '" + name + "': invalid " + label + " scale " + scale + " of slice " + s);
      }
      int start = s * slices.length();
      for (int i = start; i < start + slices.length(); i++) {
        int q = bits == 8 ? payload[codes + i] : (payload[codes + i / 2] << (28 - 4 * (i & 1))) >> 28;
        if (q < -levels) {
          throw new CodecException("tensor '" + name + "': " + label + " code " + q + " at element " + i
              + " is outside [-" + levels + ", " + levels + "]");
        }
        out.putFloat(i * 4, q * scale);
      }
    }
    return new TensorData(name, dtype, shape, data);
  }
}
