package dev.shoal.runtime.codec;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * FLOAT tensors with many zeros (ReLU output) as the positions of their non-zero values plus those
 * values. A value is zero when its bits are those of {@code +0.0f}; {@code -0.0f} is kept as a value,
 * so {@code sparse} is bit-exact.
 *
 * <p>Payload: one format byte, the non-zero count {@code nnz} (int32), the positions, the values.
 * Positions are a bitmap ({@code ceil(n / 8)} bytes, bit {@code i % 8} of byte {@code i / 8}, LSB
 * first; format 0) or, when that is smaller (below about one non-zero in 8–16), the gaps between
 * positions as unsigned LEB128 varints (the first position, then {@code next − previous − 1};
 * format 1). The values, in position order, as:
 *
 * <ul>
 *   <li>{@code sparse}: float32, lossless;
 *   <li>{@code sparse-fp16}: IEEE half as {@link Fp16Codec} (relative error ≤ 2^-11 in the normal
 *       range);
 *   <li>{@code sparse-int8}: {@code slices × (lo, step)} of the non-zeros of each channel slice
 *       ({@link ChannelSlices}), then one code byte per non-zero; error ≤ (max − min) / 510 of the
 *       slice's non-zeros, zeros exact. Tensors with NaN or infinity travel raw.
 * </ul>
 */
public final class SparseCodec implements TensorCodec {
  /** How the non-zero values travel. */
  public enum Values { FP32, FP16, INT8 }

  public static final SparseCodec EXACT = new SparseCodec(Values.FP32);
  public static final SparseCodec FP16 = new SparseCodec(Values.FP16);
  public static final SparseCodec INT8 = new SparseCodec(Values.INT8);

  private static final byte BITMAP = 0;
  private static final byte GAPS = 1;
  private static final int HEADER = 5;
  private static final int LEVELS = 255;

  private final Values values;

  private SparseCodec(Values values) {
    this.values = values;
  }

  public Values values() {
    return values;
  }

  @Override
  public Codec id() {
    return switch (values) {
      case FP32 -> Codec.CODEC_SPARSE;
      case FP16 -> Codec.CODEC_SPARSE_FP16;
      case INT8 -> Codec.CODEC_SPARSE_INT8;
    };
  }

  @Override
  public String label() {
    return switch (values) {
      case FP32 -> "sparse";
      case FP16 -> "sparse-fp16";
      case INT8 -> "sparse-int8";
    };
  }

  @Override
  public boolean lossless() {
    return values == Values.FP32;
  }

  private long valueBytes(long nnz, ChannelSlices slices) {
    return switch (values) {
      case FP32 -> nnz * 4;
      case FP16 -> nnz * 2;
      case INT8 -> (long) slices.count() * Affine.BYTES + nnz;
    };
  }

  @Override
  public long payloadBound(DType dtype, long[] shape) {
    int n = TensorCodec.rawSize("bound", dtype, shape) / dtype.byteSize();
    return HEADER + (n + 7L) / 8 + valueBytes(n, ChannelSlices.of(shape, n));
  }

  private static int varintSize(int v) {
    return v < (1 << 7) ? 1 : v < (1 << 14) ? 2 : v < (1 << 21) ? 3 : v < (1 << 28) ? 4 : 5;
  }

  @Override
  public Encoded encode(TensorData tensor) {
    if (tensor.dtype() != DType.FLOAT) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    ByteBuffer in = ByteBuffer.wrap(tensor.data()).order(ByteOrder.LITTLE_ENDIAN);
    int n = tensor.data().length / 4;
    int nnz = 0;
    long gapBytes = 0;
    int previous = -1;
    for (int i = 0; i < n; i++) {
      int bits = in.getInt(i * 4);
      if (bits != 0) {
        if (values == Values.INT8 && !Float.isFinite(Float.intBitsToFloat(bits))) {
          return RawCodec.INSTANCE.encode(tensor);
        }
        nnz++;
        gapBytes += varintSize(i - previous - 1);
        previous = i;
      }
    }
    ChannelSlices slices = ChannelSlices.of(tensor.shape(), n);
    int bitmapBytes = (n + 7) / 8;
    boolean gaps = gapBytes < bitmapBytes;
    int positionBytes = gaps ? (int) gapBytes : bitmapBytes;
    byte[] payload = new byte[(int) (HEADER + positionBytes + valueBytes(nnz, slices))];
    ByteBuffer out = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    out.put(gaps ? GAPS : BITMAP).putInt(nnz);
    previous = -1;
    for (int i = 0; i < n; i++) {
      if (in.getInt(i * 4) != 0) {
        if (gaps) {
          for (int v = i - previous - 1; ; v >>>= 7) {
            if (v < 0x80) {
              out.put((byte) v);
              break;
            }
            out.put((byte) (v & 0x7f | 0x80));
          }
        } else {
          payload[HEADER + (i >> 3)] |= (byte) (1 << (i & 7));
        }
        previous = i;
      }
    }
    out.position(HEADER + positionBytes);
    if (values == Values.INT8 && !writeRanges(in, slices, out)) {
      return RawCodec.INSTANCE.encode(tensor);
    }
    for (int i = 0; i < n; i++) {
      int bits = in.getInt(i * 4);
      if (bits != 0) {
        putValue(out, Float.intBitsToFloat(bits), i, slices, payload, HEADER + positionBytes);
      }
    }
    return new Encoded(id(), payload);
  }

  /** sparse-int8: each slice's range over its non-zeros; false when one is too wide for float32. */
  private static boolean writeRanges(ByteBuffer in, ChannelSlices slices, ByteBuffer out) {
    for (int s = 0; s < slices.count(); s++) {
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int i = s * slices.length(); i < (s + 1) * slices.length(); i++) {
        int bits = in.getInt(i * 4);
        if (bits != 0) {
          float v = Float.intBitsToFloat(bits);
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      if (lo > hi) { // no non-zero in this slice
        lo = 0f;
        hi = 0f;
      }
      float step = Affine.step(lo, hi, LEVELS);
      if (Float.isNaN(step)) {
        return false;
      }
      out.putFloat(lo).putFloat(step);
    }
    return true;
  }

  private void putValue(ByteBuffer out, float v, int index, ChannelSlices slices, byte[] payload, int valuesAt) {
    switch (values) {
      case FP32 -> out.putFloat(v);
      case FP16 -> out.putShort(Fp16Codec.toHalf(v));
      case INT8 -> {
        int range = valuesAt + (index / slices.length()) * Affine.BYTES;
        float lo = Float.intBitsToFloat(readInt(payload, range));
        float step = Float.intBitsToFloat(readInt(payload, range + 4));
        out.put((byte) Affine.quantise(v, lo, step, LEVELS));
      }
    }
  }

  private static int readInt(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
  }

  @Override
  public TensorData decode(String name, DType dtype, long[] shape, byte[] payload) {
    String what = "tensor '" + name + "': " + label() + " payload";
    if (dtype != DType.FLOAT) {
      throw new CodecException(what + " declared as " + dtype);
    }
    int n = TensorCodec.rawSize(name, dtype, shape) / 4;
    ChannelSlices slices = ChannelSlices.of(shape, n);
    if (payload.length < HEADER) {
      throw new CodecException(what + " of " + payload.length + " bytes is shorter than its header");
    }
    ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    byte format = in.get();
    int nnz = in.getInt();
    if (format != BITMAP && format != GAPS) {
      throw new CodecException(what + " has unknown position format " + format);
    }
    if (nnz < 0 || nnz > n) {
      throw new CodecException(what + " declares " + nnz + " non-zeros in " + n + " elements");
    }
    int valuesAt = format == BITMAP ? checkBitmap(what, payload, n, nnz) : checkGaps(what, payload, n, nnz);
    long expected = valuesAt + valueBytes(nnz, slices);
    if (payload.length != expected) {
      throw new CodecException(what + " of " + payload.length + " bytes, its " + nnz
          + " non-zeros need " + expected);
    }
    if (values == Values.INT8) {
      for (int s = 0; s < slices.count(); s++) {
        int at = valuesAt + s * Affine.BYTES;
        Affine.check(in.getFloat(at), in.getFloat(at + 4), LEVELS, name, label());
      }
    }
    byte[] data = new byte[n * 4];
    ByteBuffer out = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    in.position(valuesAt + (values == Values.INT8 ? slices.count() * Affine.BYTES : 0));
    if (format == BITMAP) {
      for (int b = 0; b < (n + 7) / 8; b++) {
        for (int bits = payload[HEADER + b] & 0xff; bits != 0; bits &= bits - 1) {
          int i = b * 8 + Integer.numberOfTrailingZeros(bits);
          out.putFloat(i * 4, readValue(in, i, slices, payload, valuesAt));
        }
      }
    } else {
      int at = HEADER;
      int i = -1;
      for (int k = 0; k < nnz; k++) {
        int gap = 0;
        for (int shift = 0; ; shift += 7) {
          byte b = payload[at++];
          gap |= (b & 0x7f) << shift;
          if (b >= 0) {
            break;
          }
        }
        i += gap + 1;
        out.putFloat(i * 4, readValue(in, i, slices, payload, valuesAt));
      }
    }
    return new TensorData(name, dtype, shape, data);
  }

  private float readValue(ByteBuffer in, int index, ChannelSlices slices, byte[] payload, int valuesAt) {
    return switch (values) {
      case FP32 -> in.getFloat();
      case FP16 -> Fp16Codec.toFloat(in.getShort());
      case INT8 -> {
        int range = valuesAt + (index / slices.length()) * Affine.BYTES;
        yield Float.intBitsToFloat(readInt(payload, range))
            + (in.get() & 0xff) * Float.intBitsToFloat(readInt(payload, range + 4));
      }
    };
  }

  /** Checks a bitmap's length, population and unused tail bits; returns where the values start. */
  private static int checkBitmap(String what, byte[] payload, int n, int nnz) {
    int bytes = (n + 7) / 8;
    if (payload.length < (long) HEADER + bytes) {
      throw new CodecException(what + " of " + payload.length + " bytes is too short for the bitmap of "
          + n + " elements");
    }
    int population = 0;
    for (int b = 0; b < bytes; b++) {
      population += Integer.bitCount(payload[HEADER + b] & 0xff);
    }
    if (n % 8 != 0 && (payload[HEADER + bytes - 1] & 0xff) >>> (n % 8) != 0) {
      throw new CodecException(what + " marks positions past the last of " + n + " elements");
    }
    if (population != nnz) {
      throw new CodecException(what + " declares " + nnz + " non-zeros, its bitmap marks " + population);
    }
    return HEADER + bytes;
  }

  /** Checks every gap varint (length, overflow, position in range); returns where the values start. */
  private static int checkGaps(String what, byte[] payload, int n, int nnz) {
    int at = HEADER;
    long i = -1;
    for (int k = 0; k < nnz; k++) {
      long gap = 0;
      for (int shift = 0; ; shift += 7) {
        if (at >= payload.length) {
          throw new CodecException(what + " ends inside position " + k + " of " + nnz);
        }
        byte b = payload[at++];
        if (shift == 28 && (b & 0xf0) != 0) {
          throw new CodecException(what + " has an over-long position gap at position " + k);
        }
        gap |= (long) (b & 0x7f) << shift;
        if (b >= 0) {
          break;
        }
      }
      i += gap + 1;
      if (i >= n) {
        throw new CodecException(what + " puts non-zero " + k + " at " + i + ", past the last of " + n
            + " elements");
      }
    }
    return at;
  }
}
