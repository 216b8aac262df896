package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.util.Locale;

/**
 * How a tensor travels over one link. Lossless codecs carry any tensor; lossy ones ({@link
 * Fp16Codec}, {@link Int8BlockCodec}) apply to FLOAT tensors with finite values and send any other
 * tensor raw, so {@link #encode} reports the codec it actually used.
 */
public sealed interface TensorCodec
    permits RawCodec, Fp16Codec, Int8BlockCodec, Lz4Codec, ZstdCodec {

  /** The codec's wire id. */
  Codec id();

  /** Short name used on the command line and in reports: raw, fp16, int8, lz4, zstd. */
  String label();

  boolean lossless();

  Encoded encode(TensorData tensor);

  /**
   * Rebuilds a tensor from a payload this codec produced.
   *
   * @throws CodecException when the payload does not decode to exactly {@code shape} of {@code dtype}
   */
  TensorData decode(String name, DType dtype, long[] shape, byte[] payload);

  /** A payload and the codec that produced it. */
  record Encoded(Codec codec, byte[] payload) {}

  static TensorCodec of(Codec id) {
    return switch (id) {
      case CODEC_RAW -> RawCodec.INSTANCE;
      case CODEC_FP16 -> Fp16Codec.INSTANCE;
      case CODEC_INT8 -> Int8BlockCodec.INSTANCE;
      case CODEC_LZ4 -> Lz4Codec.INSTANCE;
      case CODEC_ZSTD -> ZstdCodec.INSTANCE;
      default -> throw new CodecException("unknown codec id " + id);
    };
  }

  static TensorCodec parse(String label) {
    return switch (label.toLowerCase(Locale.ROOT)) {
      case "raw" -> RawCodec.INSTANCE;
      case "fp16" -> Fp16Codec.INSTANCE;
      case "int8" -> Int8BlockCodec.INSTANCE;
      case "lz4" -> Lz4Codec.INSTANCE;
      case "zstd" -> ZstdCodec.INSTANCE;
      default -> throw new IllegalArgumentException(
          "unknown codec '" + label + "' (expected raw, fp16, int8, lz4 or zstd)");
    };
  }

  /** Bytes a decoded tensor of this shape and type occupies; checked before any allocation. */
  static int rawSize(String name, DType dtype, long[] shape) {
    long bytes;
    try {
      bytes = Math.multiplyExact(TensorData.elementCount(shape), dtype.byteSize());
    } catch (ArithmeticException | IllegalArgumentException e) {
      throw new CodecException("tensor '" + name + "': invalid shape (" + e.getMessage() + ")");
    }
    if (bytes > Integer.MAX_VALUE - 16) {
      throw new CodecException("tensor '" + name + "': " + bytes + " bytes is too large for a frame");
    }
    return (int) bytes;
  }
}
