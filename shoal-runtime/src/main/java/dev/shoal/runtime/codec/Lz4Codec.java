package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Lossless LZ4 block of the raw bytes; decoded with the bounds-checking safe decompressor. As the
 * entropy stage after another codec ({@link EntropyCoded}) the block is preceded by the inner
 * payload's length (int32, little-endian), since that length is not fixed by the shape.
 */
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
  public long payloadBound(DType dtype, long[] shape) {
    return compressor.maxCompressedLength(TensorCodec.rawSize("bound", dtype, shape));
  }

  @Override
  public Encoded encode(TensorData tensor) {
    return new Encoded(Codec.CODEC_LZ4, compressor.compress(tensor.data()));
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    int expected = TensorCodec.rawSize(name, dtype, shape);
    return new TensorData(name, dtype, shape, decompress(name, payload, 0, expected));
  }

  /** The entropy stage: the inner payload's length, then its LZ4 block. */
  byte[] compressSized(byte[] inner) {
    byte[] out = new byte[4 + compressor.maxCompressedLength(inner.length)];
    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(inner.length);
    int n = compressor.compress(inner, 0, inner.length, out, 4);
    return Arrays.copyOf(out, 4 + n);
  }

  /** Undoes {@link #compressSized}, refusing a declared length above {@code bound} before allocating. */
  byte[] decompressSized(String name, byte[] payload, long bound) {
    if (payload.length < 4) {
      throw new CodecException("tensor '" + name + "': lz4 stage of " + payload.length
          + " bytes is shorter than its length field");
    }
    int declared = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (declared < 0 || declared > bound) {
      throw new CodecException("tensor '" + name + "': lz4 stage declares " + declared
          + " bytes, the codec inside writes at most " + bound);
    }
    return decompress(name, payload, 4, declared);
  }

  private byte[] decompress(String name, byte[] payload, int from, int expected) {
    byte[] out = new byte[expected];
    int n;
    try {
      n = decompressor.decompress(payload, from, payload.length - from, out, 0, expected);
    } catch (LZ4Exception e) {
      throw new CodecException("tensor '" + name + "': malformed lz4 payload (" + e.getMessage() + ")");
    }
    if (n != expected) {
      throw new CodecException("tensor '" + name + "': lz4 payload decodes to " + n
          + " bytes, expected " + expected);
    }
    return out;
  }
}
