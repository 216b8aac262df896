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
  public long payloadBound(DType dtype, long[] shape) {
    return Zstd.compressBound(TensorCodec.rawSize("bound", dtype, shape));
  }

  @Override
  public Encoded encode(TensorData tensor) {
    return new Encoded(Codec.CODEC_ZSTD, Zstd.compress(tensor.data(), LEVEL));
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    int expected = TensorCodec.rawSize(name, dtype, shape);
    long declared = contentSize(name, payload);
    if (declared != expected) {
      throw new CodecException("tensor '" + name + "': zstd frame declares " + declared
          + " bytes, shape and type need " + expected);
    }
    return new TensorData(name, dtype, shape, decompress(name, payload, expected));
  }

  /** The entropy stage after another codec: a frame, which declares the inner payload's length. */
  byte[] compress(byte[] inner) {
    return Zstd.compress(inner, LEVEL);
  }

  /** Undoes {@link #compress}, refusing a declared length above {@code bound} before allocating. */
  byte[] decompressBounded(String name, byte[] payload, long bound) {
    long declared = contentSize(name, payload);
    if (declared < 0 || declared > bound) {
      throw new CodecException("tensor '" + name + "': zstd stage declares " + declared
          + " bytes (negative: no size or not a frame), the codec inside writes at most " + bound);
    }
    return decompress(name, payload, (int) declared);
  }

  /** The length a frame declares (negative: none or not a frame); zstd-jni itself fails on an empty array. */
  private static long contentSize(String name, byte[] payload) {
    if (payload.length < 4) {
      throw new CodecException("tensor '" + name + "': zstd payload of " + payload.length
          + " bytes is too short for a frame");
    }
    return Zstd.getFrameContentSize(payload);
  }

  private static byte[] decompress(String name, byte[] payload, int expected) {
    byte[] out = new byte[expected];
    long n;
    try {
      n = Zstd.decompress(out, payload);
    } catch (ZstdException e) {
      throw new CodecException("tensor '" + name + "': malformed zstd payload (" + e.getMessage() + ")");
    }
    if (n != expected) {
      throw new CodecException("tensor '" + name + "': zstd payload decodes to " + n
          + " bytes, expected " + expected);
    }
    return out;
  }
}
