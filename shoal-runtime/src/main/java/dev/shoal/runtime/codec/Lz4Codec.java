package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/** Lossless LZ4 block of the raw bytes; decoded with the bounds-checking safe decompressor. */
public final class Lz4Codec implements TensorCodec {
  private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
  public static final Lz4Codec INSTANCE = new Lz4Codec();

  private final LZ4Compressor compressor = FACTORY.fastCompressor();
  private final LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();

  private Lz4Codec() {}

  @Override
  public Codec id() {
    return Codec.CODEC_LZ4;
  }

  @Override
  public String label() {
    return "lz4";
  }

  @Override
  public boolean lossless() {
    return true;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    return new Encoded(Codec.CODEC_LZ4, compressor.compress(tensor.data()));
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    int expected = TensorCodec.rawSize(name, dtype, shape);
    byte[] out = new byte[expected];
    int n;
    try {
      n = decompressor.decompress(payload, 0, payload.length, out, 0, expected);
    } catch (LZ4Exception e) {
      throw new CodecException("tensor '" + name + "': malformed lz4 payload (" + e.getMessage() + ")");
    }
    if (n != expected) {
      throw new CodecException("tensor '" + name + "': lz4 payload decodes to " + n
          + " bytes, shape and type need " + expected);
    }
    return new TensorData(name, dtype, shape, out);
  }
}
