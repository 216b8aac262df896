package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import dev.shoal.runtime.wire.proto.Entropy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a tensor travels over one link. Lossless codecs carry any tensor; lossy ones apply to FLOAT
 * tensors with finite values and send any other tensor raw (fp16 keeps non-finite values as half
 * infinities and NaNs), so {@link #encode} reports the codec it actually used. Any codec but raw,
 * lz4 and zstd may be followed by a lossless entropy stage ({@link EntropyCoded}). Bounds and
 * payload formats: each class's comment and docs/runtime.md ("Codecs").
 */
public sealed interface TensorCodec
    permits RawCodec, Fp16Codec, Int8BlockCodec, Int8ChannelCodec, Int4BlockCodec, SymmetricChannelCodec, SparseCodec,
        Lz4Codec, ZstdCodec, EntropyCoded {

  /** Names {@link #parse} accepts before an optional {@code +lz4} or {@code +zstd}. */
  List<String> NAMES =
      List.of("raw", "fp16", "int8", "int8c", "int4", "sparse", "sparse-fp16", "sparse-int8", "lz4", "zstd", "fp16s",
          "int8s", "int4s");

  /** The codec's wire id (of the inner codec for an {@link EntropyCoded}). */
  Codec id();

  /** The lossless stage after the codec on the wire; none for all but {@link EntropyCoded}. */
  default Entropy entropy() {
    return Entropy.ENTROPY_NONE;
  }

  /** The name {@link #parse} reads back: raw, fp16, int8c+zstd, ... */
  String label();

  boolean lossless();

  /** The largest payload this codec writes for a tensor of this type and shape. */
  long payloadBound(DType dtype, long[] shape);

  Encoded encode(TensorData tensor);

  /**
   * Rebuilds a tensor from a payload this codec produced.
   *
   * @throws CodecException when the payload does not decode to exactly {@code shape} of {@code dtype}
   */
  TensorData decode(String name, DType dtype, long[] shape, byte[] payload);

  /**
   * What the receiving end of a link gets: {@code tensor} encoded, then decoded by the codec the
   * encoding reports, exactly as a frame carries it (offline runs of a split use this).
   */
  default TensorData roundTrip(TensorData tensor) {
    Encoded e = encode(tensor);
    return of(e.codec(), e.entropy()).decode(tensor.name(), tensor.dtype(), tensor.shape(), e.payload());
  }

  /** A payload and the codec (and entropy stage) that produced it. */
  record Encoded(Codec codec, Entropy entropy, byte[] payload) {
    public Encoded(Codec codec, byte[] payload) {
      this(codec, Entropy.ENTROPY_NONE, payload);
    }
  }

  static TensorCodec of(Codec id) {
    return of(id, Entropy.ENTROPY_NONE);
  }

  /** The codec that decodes a payload sent with this wire id and entropy stage. */
  static TensorCodec of(Codec id, Entropy entropy) {
    TensorCodec codec = switch (id) {
      case CODEC_RAW -> RawCodec.INSTANCE;
      case CODEC_FP16 -> Fp16Codec.INSTANCE;
      case CODEC_INT8 -> Int8BlockCodec.INSTANCE;
      case CODEC_INT8_CHANNEL -> Int8ChannelCodec.INSTANCE;
      case CODEC_INT4 -> Int4BlockCodec.INSTANCE;
      case CODEC_SPARSE -> SparseCodec.EXACT;
      case CODEC_SPARSE_FP16 -> SparseCodec.FP16;
      case CODEC_SPARSE_INT8 -> SparseCodec.INT8;
      case CODEC_LZ4 -> Lz4Codec.INSTANCE;
      case CODEC_ZSTD -> ZstdCodec.INSTANCE;
      case CODEC_FP16_SATURATING -> Fp16Codec.SATURATING;
      case CODEC_INT8_SYMMETRIC -> SymmetricChannelCodec.INT8;
      case CODEC_INT4_SYMMETRIC -> SymmetricChannelCodec.INT4;
      default -> throw new CodecException("unknown codec id " + id);
    };
    if (entropy == Entropy.ENTROPY_NONE) {
      return codec;
    }
    try {
      return new EntropyCoded(codec, entropy);
    } catch (IllegalArgumentException e) {
      throw new CodecException("codec id " + id + " with entropy " + entropy + ": " + e.getMessage());
    }
  }

  /**
   * Reads a codec name: one of {@link #NAMES}, optionally followed by {@code +lz4} or {@code +zstd}
   * (any but raw, lz4 and zstd; {@code raw+lz4} is {@code lz4}).
   *
   * @throws IllegalArgumentException naming what exists
   */
  static TensorCodec parse(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    int plus = s.indexOf('+');
    String name = plus < 0 ? s : s.substring(0, plus);
    TensorCodec codec = switch (name) {
      case "raw" -> RawCodec.INSTANCE;
      case "fp16" -> Fp16Codec.INSTANCE;
      case "int8" -> Int8BlockCodec.INSTANCE;
      case "int8c" -> Int8ChannelCodec.INSTANCE;
      case "int4" -> Int4BlockCodec.INSTANCE;
      case "sparse" -> SparseCodec.EXACT;
      case "sparse-fp16" -> SparseCodec.FP16;
      case "sparse-int8" -> SparseCodec.INT8;
      case "lz4" -> Lz4Codec.INSTANCE;
      case "zstd" -> ZstdCodec.INSTANCE;
      case "fp16s" -> Fp16Codec.SATURATING;
      case "int8s" -> SymmetricChannelCodec.INT8;
      case "int4s" -> SymmetricChannelCodec.INT4;
      default -> throw new IllegalArgumentException("unknown codec '" + spec + "' (codecs: "
          + String.join(", ", NAMES) + "; any but lz4 and zstd may end in +lz4 or +zstd, e.g. int8c+zstd)");
    };
    if (plus < 0) {
      return codec;
    }
    String stage = s.substring(plus + 1);
    Entropy entropy = switch (stage) {
      case "lz4" -> Entropy.ENTROPY_LZ4;
      case "zstd" -> Entropy.ENTROPY_ZSTD;
      default -> throw new IllegalArgumentException("codec '" + spec + "': unknown lossless stage '" + stage
          + "' after '+' (lz4 or zstd)");
    };
    if (codec instanceof RawCodec) {
      return parse(stage);
    }
    if (codec instanceof Lz4Codec || codec instanceof ZstdCodec) {
      throw new IllegalArgumentException("codec '" + spec + "': " + name
          + " is already lossless compression, it takes no +" + stage);
    }
    return new EntropyCoded(codec, entropy);
  }

  /** Every distinct codec {@link #parse} can give: each name alone, then each with +lz4 and +zstd. */
  static List<TensorCodec> all() {
    List<TensorCodec> out = new ArrayList<>();
    for (String name : NAMES) {
      out.add(parse(name));
    }
    for (String name : NAMES) {
      if (!name.equals("raw") && !name.equals("lz4") && !name.equals("zstd")) {
        out.add(parse(name + "+lz4"));
        out.add(parse(name + "+zstd"));
      }
    }
    return out;
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
