package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import dev.shoal.runtime.wire.proto.Entropy;

/**
 * A codec followed by a lossless stage ({@code int8c+zstd}, {@code sparse+lz4}): the inner codec's
 * payload compressed by LZ4 (length-prefixed, see {@link Lz4Codec}) or zstd. Same error bound as the
 * inner codec. When the inner codec falls back to raw (a non-float or non-finite tensor), the tensor
 * travels as plain {@code lz4} or {@code zstd} of its raw bytes, and {@link #encode} says so.
 */
public record EntropyCoded(TensorCodec inner, Entropy entropy) implements TensorCodec {

  public EntropyCoded {
    if (inner instanceof RawCodec || inner instanceof Lz4Codec || inner instanceof ZstdCodec
        || inner instanceof EntropyCoded) {
      throw new IllegalArgumentException("an entropy stage goes after fp16, int8, int8c, int4 or a sparse "
          + "codec, not after " + inner.label() + " (raw+lz4 is lz4)");
    }
    if (entropy != Entropy.ENTROPY_LZ4 && entropy != Entropy.ENTROPY_ZSTD) {
      throw new IllegalArgumentException("unknown entropy stage " + entropy);
    }
  }

  @Override
  public Codec id() {
    return inner.id();
  }

  @Override
  public String label() {
    return inner.label() + "+" + (entropy == Entropy.ENTROPY_LZ4 ? "lz4" : "zstd");
  }

  @Override
  public boolean lossless() {
    return inner.lossless();
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    long in = inner.payloadBound(dtype, shape);
    return entropy == Entropy.ENTROPY_LZ4 ? 4 + in + in / 255 + 16 : in + in / 128 + 512;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    Encoded e = inner.encode(tensor);
    if (e.codec() == Codec.CODEC_RAW) {
      return (entropy == Entropy.ENTROPY_LZ4 ? Lz4Codec.INSTANCE : ZstdCodec.INSTANCE).encode(tensor);
    }
    byte[] packed = entropy == Entropy.ENTROPY_LZ4
        ? Lz4Codec.INSTANCE.compressSized(e.payload()) : ZstdCodec.INSTANCE.compress(e.payload());
    return new Encoded(e.codec(), entropy, packed);
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    long bound = inner.payloadBound(dtype, shape);
    byte[] unpacked = entropy == Entropy.ENTROPY_LZ4
        ? Lz4Codec.INSTANCE.decompressSized(name, payload, bound)
        : ZstdCodec.INSTANCE.decompressBounded(name, payload, bound);
    return inner.decode(name, dtype, shape, unpacked);
  }
}
