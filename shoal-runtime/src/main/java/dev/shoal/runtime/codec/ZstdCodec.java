package dev.shoal.runtime.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;

/** Lossless Zstandard frame (level 1: speed over ratio, links are the bottleneck only when slow). */
public final class ZstdCodec implements TensorCodec {
  public static final ZstdCodec INSTANCE = new ZstdCodec();
  private static final int LEVEL = 1;

  private ZstdCodec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_ZSTD;
  }

  @Override
  public String label() {
    return "zstd";
  }

  @Override
  public boolean lossless() {
    return true;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    return new Encoded(Codec.CODEC_ZSTD, Zstd.compress(tensor.data(), LEVEL));
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    int expected = TensorCodec.rawSize(name, dtype, shape);
    if (payload.length == 0) {
      // zstd-jni throws ArrayIndexOutOfBoundsException on an empty array (found by FramesFuzzTest)
      throw new CodecException("tensor '" + name + "': empty zstd payload (a zstd frame has a header)");
    }
    long declared = Zstd.getFrameContentSize(payload);
    if (declared != expected) {
      throw new CodecException("tensor '" + name + "': zstd frame declares " + declared
          + " bytes, shape and type need " + expected);
    }
    byte[] out = new byte[expected];
    long n;
    try {
      n = Zstd.decompress(out, payload);
    } catch (ZstdException e) {
      throw new CodecException("tensor '" + name + "': malformed zstd payload (" + e.getMessage() + ")");
    }
    if (n != expected) {
      throw new CodecException("tensor '" + name + "': zstd payload decodes to " + n
          + " bytes, shape and type need " + expected);
    }
    return new TensorData(name, dtype, shape, out);
  }
}
