package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors as symmetric int8 with one float32 scale per block of {@value #BLOCK} values
 * (scale = max |x| / 127): about a quarter of the bytes, absolute error at most half a step,
 * i.e. max|x in block| / 254. Tensors holding NaN or infinity travel raw.
 */
public final class Int8BlockCodec implements TensorCodec {
  public static final Int8BlockCodec INSTANCE = new Int8BlockCodec();
  public static final int BLOCK = 64;

  private Int8BlockCodec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_INT8;
  }

  @Override
  public String label() {
    return "int8";
  }

  @Override
  public boolean lossless() {
    return false;
  }

  static int encodedSize(int elements) {
    int blocks = (elements + BLOCK - 1) / BLOCK;
    return blocks * 4 + elements;
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    return encodedSize(TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize());
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    float[] x = tensor.floats();
    for (float v : x) {
      if (!Float.isFinite(v)) {
        return RawCodec.INSTANCE.encode(tensor);
      }
    }
    ByteBuffer out = ByteBuffer.allocate(encodedSize(x.length)).order(ByteOrder.LITTLE_ENDIAN);
    for (int start = 0; start < x.length; start += BLOCK) {
      int end = Math.min(x.length, start + BLOCK);
      float max = 0f;
      for (int i = start; i < end; i++) {
        max = Math.max(max, Math.abs(x[i]));
      }
      float scale = max / 127f;
      out.putFloat(scale);
      for (int i = start; i < end; i++) {
        int q = scale == 0f ? 0 : Math.round(x[i] / scale);
        out.put((byte) Math.max(-127, Math.min(127, q)));
      }
    }
    return new Encoded(Codec.CODEC_INT8, out.array());
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    if (dtype != DType.FLOAT) {
      throw new CodecException("tensor '" + name + "': int8 payload declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    if (payload.length != encodedSize(n)) {
      throw new CodecException("tensor '" + name + "': int8 payload of " + payload.length
          + " bytes, " + n + " elements need " + encodedSize(n));
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int start = 0; start < n; start += BLOCK) {
      int end = Math.min(n, start + BLOCK);
      float scale = in.getFloat();
      if (!Float.isFinite(scale) || scale < 0f || !Float.isFinite(scale * 127f)) {
        throw new CodecException("tensor '" + name + "': invalid int8 block scale " + scale);
      }
      for (int i = start; i < end; i++) {
        out.putFloat(in.get() * scale);
      }
    }
    return new TensorData(name, dtype, shape, out.array());
  }
}
