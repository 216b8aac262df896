package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;

/** The tensor's little-endian bytes as they are. */
public final class RawCodec implements TensorCodec {
  public static final RawCodec INSTANCE = new RawCodec();

  private RawCodec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_RAW;
  }

  @Override
  public String label() {
    return "raw";
  }

  @Override
  public boolean lossless() {
    return true;
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    return TensorCodec.rawSize("bound", dtype, shape);
  }

  @Override
  public Encoded encode(TensorData tensor) {
    return new Encoded(Codec.CODEC_RAW, tensor.data());
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    int expected = TensorCodec.rawSize(name, dtype, shape);
    if (payload.length != expected) {
      throw new CodecException("tensor '" + name + "': raw payload of " + payload.length
          + " bytes, shape and type need " + expected);
    }
    return new TensorData(name, dtype, shape, payload);
  }
}
