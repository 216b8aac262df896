package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors as 4-bit codes, two per byte, with one affine range per block of up to {@value
 * #BLOCK} values. Blocks lie inside a channel slice ({@link ChannelSlices}): each slice is cut into
 * {@code ceil(length / 64)} blocks, the last one shorter. A block maps to {@code lo + q·step},
 * {@code q ∈ 0..15}, {@code step = (max − min) / 15}: absolute error at most {@code (max − min) /
 * 30} of the block (plus float rounding of the last bit). About 4.5 bits per value at full blocks.
 *
 * <p>Payload: {@code blocks × (lo, step)} as little-endian float32, then {@code ceil(n / 2)} bytes:
 * value {@code 2k} in the low nibble of byte {@code k}, value {@code 2k+1} in its high nibble (zero
 * when n is odd). Tensors holding NaN or infinity travel raw.
 */
public final class Int4BlockCodec implements TensorCodec {
  public static final Int4BlockCodec INSTANCE = new Int4BlockCodec();
  public static final int BLOCK = 64;
  private static final int LEVELS = 15;

  private Int4BlockCodec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_INT4;
  }

  @Override
  public String label() {
    return "int4";
  }

  @Override
  public boolean lossless() {
    return false;
  }

  private static int blocks(ChannelSlices slices) {
    return slices.count() * ((slices.length() + BLOCK - 1) / BLOCK);
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    int n = TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize();
    return (long) blocks(ChannelSlices.of(shape, n)) * Affine.BYTES + (n + 1L) / 2;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    ByteBuffer in = ByteBuffer.wrap(tensor.data()).order(ByteOrder.LITTLE_ENDIAN);
    int n = tensor.data().length / 4;
    ChannelSlices slices = ChannelSlices.of(tensor.shape(), n);
    int codes = blocks(slices) * Affine.BYTES;
    byte[] payload = new byte[codes + (n + 1) / 2];
    ByteBuffer out = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    int block = 0;
    for (int s = 0; s < slices.count(); s++) {
      int sliceEnd = (s + 1) * slices.length();
      for (int start = s * slices.length(); start < sliceEnd; start += BLOCK, block++) {
        int end = Math.min(sliceEnd, start + BLOCK);
        float[] range = Affine.range(in, start, end, LEVELS);
        if (range == null) {
          return RawCodec.INSTANCE.encode(tensor);
        }
        float lo = range[0];
        float step = range[1];
        out.putFloat(block * Affine.BYTES, lo).putFloat(block * Affine.BYTES + 4, step);
        float inverse = Affine.inverse(step);
        for (int i = start; i < end; i++) {
          int q = Affine.quantise(in.getFloat(i * 4), lo, inverse, LEVELS);
          payload[codes + (i >> 1)] |= (byte) (q << ((i & 1) * 4));
        }
      }
    }
    return new Encoded(Codec.CODEC_INT4, payload);
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    if (dtype != DType.FLOAT) {
      throw new CodecException("tensor '" + name + "': int4 payload declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    ChannelSlices slices = ChannelSlices.of(shape, n);
    int codes = blocks(slices) * Affine.BYTES;
    long expected = (long) codes + (n + 1L) / 2;
    if (payload.length != expected) {
      throw new CodecException("tensor '" + name + "': int4 payload of " + payload.length + " bytes, "
          + blocks(slices) + " blocks and " + n + " elements need " + expected);
    }
    if (n % 2 == 1 && (payload[payload.length - 1] & 0xf0) != 0) {
      throw new CodecException("tensor '" + name + "': int4 payload has a value past the last element");
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    byte[] data = new byte[n * 4];
    ByteBuffer out = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    int block = 0;
    for (int s = 0; s < slices.count(); s++) {
      int sliceEnd = (s + 1) * slices.length();
      for (int start = s * slices.length(); start < sliceEnd; start += BLOCK, block++) {
        float lo = in.getFloat(block * Affine.BYTES);
        float step = in.getFloat(block * Affine.BYTES + 4);
        Affine.check(lo, step, LEVELS, name, "int4");
        for (int i = start; i < Math.min(sliceEnd, start + BLOCK); i++) {
          int q = (payload[codes + (i >> 1)] >> ((i & 1) * 4)) & 0xf;
          out.putFloat(i * 4, lo + q * step);
        }
      }
    }
    return new TensorData(name, dtype, shape, data);
  }
}
