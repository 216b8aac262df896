package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors as uint8 codes with one affine range per channel slice ({@link ChannelSlices}:
 * per sample and channel of axis 1 for rank ≥ 3, per row for rank 2, one for rank ≤ 1). Each
 * slice's values map to {@code lo + q·step}, {@code step = (max − min) / 255}, so the absolute
 * error is at most {@code (max − min) / 510} of the slice (plus float rounding of the last bit).
 *
 * <p>Payload: {@code slices × (lo, step)} as little-endian float32, then one code byte per value.
 * Tensors holding NaN or infinity, or spanning more than float32 can step through, travel raw.
 */
public final class Int8ChannelCodec implements TensorCodec {
  public static final Int8ChannelCodec INSTANCE = new Int8ChannelCodec();
  private static final int LEVELS = 255;

  private Int8ChannelCodec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_INT8_CHANNEL;
  }

  @Override
  public String label() {
    return "int8c";
  }

  @Override
  public boolean lossless() {
    return false;
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    int n = TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize();
    return (long) ChannelSlices.of(shape, n).count() * Affine.BYTES + n;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    ByteBuffer in = ByteBuffer.wrap(tensor.data()).order(ByteOrder.LITTLE_ENDIAN);
    int n = tensor.data().length / 4;
    ChannelSlices slices = ChannelSlices.of(tensor.shape(), n);
    int codes = slices.count() * Affine.BYTES;
    byte[] payload = new byte[codes + n];
    ByteBuffer out = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    for (int s = 0; s < slices.count(); s++) {
      int start = s * slices.length();
      int end = start + slices.length();
      float[] range = Affine.range(in, start, end, LEVELS);
      if (range == null) {
        return RawCodec.INSTANCE.encode(tensor);
      }
      float lo = range[0];
      float step = range[1];
      out.putFloat(s * Affine.BYTES, lo).putFloat(s * Affine.BYTES + 4, step);
      float inverse = Affine.inverse(step);
      for (int i = start; i < end; i++) {
        payload[codes + i] = (byte) Affine.quantise(in.getFloat(i * 4), lo, inverse, LEVELS);
      }
    }
    return new Encoded(Codec.CODEC_INT8_CHANNEL, payload);
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    if (dtype != DType.FLOAT) {
      throw new CodecException("tensor '" + name + "': int8c payload declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    ChannelSlices slices = ChannelSlices.of(shape, n);
    int codes = slices.count() * Affine.BYTES;
    if (payload.length != (long) codes + n) {
      throw new CodecException("tensor '" + name + "': int8c payload of " + payload.length + " bytes, "
          + slices.count() + " slices and " + n + " elements need " + ((long) codes + n));
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    byte[] data = new byte[n * 4];
    ByteBuffer out = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    for (int s = 0; s < slices.count(); s++) {
      float lo = in.getFloat(s * Affine.BYTES);
      float step = in.getFloat(s * Affine.BYTES + 4);
      Affine.check(lo, step, LEVELS, name, "int8c");
      int start = s * slices.length();
      for (int i = start; i < start + slices.length(); i++) {
        out.putFloat(i * 4, lo + (payload[codes + i] & 0xff) * step);
      }
    }
    return new TensorData(name, dtype, shape, data);
  }
}
