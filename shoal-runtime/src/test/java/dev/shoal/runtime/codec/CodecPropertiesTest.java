package dev.shoal.runtime.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.wire.proto.Codec;
import dev.shoal.runtime.wire.proto.Entropy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every codec, alone and with each entropy stage, over random tensors (ranks 0..4, densities 0..1,
 * magnitudes from 1e-30 to 1e30, signs): lossless ones come back bit-exact, lossy ones within their
 * documented bound; and damaged payloads are refused rather than decoded to garbage.
 */
class CodecPropertiesTest {
  private static final long[][] SHAPES = {
      {}, {1}, {7}, {3, 5}, {1, 1, 1}, {2, 3, 9, 11}, {1, 32, 14, 14}, {4, 3, 130}, {2, 0, 5}, {1, 5, 65}};
  private static final double[] DENSITIES = {0, 0.005, 0.1, 0.5, 0.9, 1};
  private static final double[] SCALES = {1e-30, 1e-3, 1, 300, 1e30};

  private static TensorData random(Random r, long[] shape, double density, double scale, boolean signed) {
    int n = (int) TensorData.elementCount(shape);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      if (r.nextDouble() < density) {
        double x = Math.abs(r.nextGaussian()) * scale * (r.nextInt(10) == 0 ? 10 : 1) + Float.MIN_NORMAL;
        v[i] = (float) (signed && r.nextBoolean() ? -x : x);
      }
    }
    return TensorData.ofFloats("t", shape, v);
  }

  private static TensorData roundTrip(TensorCodec c, TensorData t) {
    TensorCodec.Encoded e = c.encode(t);
    return TensorCodec.of(e.codec(), e.entropy()).decode(t.name(), t.dtype(), t.shape(), e.payload());
  }

  @Test
  void everyCodecRoundTripsWithinItsBound() {
    Random r = new Random(11);
    int cases = 0;
    for (TensorCodec c : TensorCodec.all()) {
      for (long[] shape : SHAPES) {
        for (double density : DENSITIES) {
          double scale = SCALES[r.nextInt(SCALES.length)];
          TensorData t = random(r, shape, density, scale, r.nextBoolean());
          TensorCodec.Encoded e = c.encode(t);
          TensorData back = roundTrip(c, t);
          String what = c.label() + " " + Arrays.toString(shape) + " density " + density + " scale " + scale;
          assertThat(back.shape()).as(what).isEqualTo(shape);
          if (c.lossless() || e.codec() == Codec.CODEC_RAW || e.codec() == Codec.CODEC_LZ4
              || e.codec() == Codec.CODEC_ZSTD) {
            assertThat(back.data()).as(what).isEqualTo(t.data());
          } else {
            assertWithinBound(TensorCodec.of(e.codec()), t, back, what);
          }
          assertThat((long) e.payload().length).as(what).isLessThanOrEqualTo(c.payloadBound(t.dtype(), shape));
          cases++;
        }
      }
    }
    assertThat(cases).isEqualTo(TensorCodec.all().size() * SHAPES.length * DENSITIES.length);
  }

  /** The bound each lossy codec documents, checked value by value (plus two ulps of float rounding). */
  private static void assertWithinBound(TensorCodec c, TensorData t, TensorData back, String what) {
    float[] x = t.floats();
    float[] y = back.floats();
    long[] shape = t.shape();
    ChannelSlices slices = ChannelSlices.of(shape, x.length);
    if (c instanceof Fp16Codec || c == SparseCodec.FP16) {
      assertFp16(x, y, c == Fp16Codec.SATURATING, what);
    } else if (c instanceof SymmetricChannelCodec sym) {
      for (int start = 0; start < x.length; start += slices.length()) {
        float max = 0;
        for (int i = start; i < start + slices.length(); i++) {
          max = Math.max(max, Math.abs(x[i]));
        }
        float scale = Math.max(max / sym.levels(), SymmetricChannelCodec.MIN_SCALE);
        for (int i = start; i < start + slices.length(); i++) {
          assertThat((double) Math.abs(y[i] - x[i])).as(what + " x=" + x[i])
              .isLessThanOrEqualTo(scale / 2.0 + 2 * Math.ulp(max));
        }
      }
    } else if (c instanceof Int8ChannelCodec) {
      assertAffine(x, y, slices.length(), 255, false, what);
    } else if (c == SparseCodec.INT8) {
      assertAffine(x, y, slices.length(), 255, true, what);
    } else if (c instanceof Int4BlockCodec) {
      for (int s = 0; s < slices.count(); s++) {
        for (int start = 0; start < slices.length(); start += Int4BlockCodec.BLOCK) {
          int from = s * slices.length() + start;
          int to = s * slices.length() + Math.min(slices.length(), start + Int4BlockCodec.BLOCK);
          assertAffine(Arrays.copyOfRange(x, from, to), Arrays.copyOfRange(y, from, to), to - from, 15, false, what);
        }
      }
    } else if (c instanceof Int8BlockCodec) {
      for (int start = 0; start < x.length; start += Int8BlockCodec.BLOCK) {
        int end = Math.min(x.length, start + Int8BlockCodec.BLOCK);
        float max = 0;
        for (int i = start; i < end; i++) {
          max = Math.max(max, Math.abs(x[i]));
        }
        for (int i = start; i < end; i++) {
          assertThat((double) Math.abs(y[i] - x[i])).as(what).isLessThanOrEqualTo(max / 254.0 + 2 * Math.ulp(max));
        }
      }
    } else {
      throw new AssertionError("no bound for " + c.label());
    }
  }

  private static void assertFp16(float[] x, float[] y, boolean saturating, String what) {
    for (int i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) > 65504f) {
        assertThat(saturating ? y[i] == Math.copySign(65504f, x[i]) : Float.isInfinite(y[i])).as(what).isTrue();
      } else {
        assertThat((double) Math.abs(y[i] - x[i])).as(what + " x=" + x[i])
            .isLessThanOrEqualTo(Math.abs(x[i]) * 0x1p-11 + 0x1p-25);
      }
    }
  }

  /** Values in groups of {@code group} map to lo + q·step over the group's range (non-zeros only when sparse). */
  private static void assertAffine(float[] x, float[] y, int group, int levels, boolean sparse, String what) {
    for (int start = 0; start < x.length; start += group) {
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (int i = start; i < start + group; i++) {
        if (!sparse || Float.floatToRawIntBits(x[i]) != 0) {
          lo = Math.min(lo, x[i]);
          hi = Math.max(hi, x[i]);
        }
      }
      double bound = (hi - lo) / (2.0 * levels) + 4 * Math.ulp((float) Math.max(Math.abs(lo), Math.abs(hi)));
      for (int i = start; i < start + group; i++) {
        if (sparse && Float.floatToRawIntBits(x[i]) == 0) {
          assertThat(Float.floatToRawIntBits(y[i])).as(what).isZero();
        } else {
          assertThat((double) Math.abs(y[i] - x[i])).as(what + " x=" + x[i]).isLessThanOrEqualTo(bound);
        }
      }
    }
  }

  @Test
  void lossyCodecsReportTheirFallbackAndEntropyStagesTheirs() {
    TensorData nan = TensorData.ofFloats("nan", new long[] {1, 2, 3}, new float[] {0, 1, Float.NaN, 0, -0f, 2});
    TensorData ids = new TensorData("ids", DType.INT64, new long[] {2}, new byte[16]);
    for (String label : List.of("int8c", "int4", "sparse-int8", "int8s", "int4s")) {
      assertThat(TensorCodec.parse(label).encode(nan).codec()).as(label).isEqualTo(Codec.CODEC_RAW);
      TensorCodec.Encoded z = TensorCodec.parse(label + "+zstd").encode(nan);
      assertThat(z.codec()).isEqualTo(Codec.CODEC_ZSTD);
      assertThat(z.entropy()).isEqualTo(Entropy.ENTROPY_NONE);
    }
    for (TensorCodec c : TensorCodec.all()) {
      TensorCodec.Encoded e = c.encode(ids);
      assertThat(e.codec()).as(c.label()).isIn(Codec.CODEC_RAW, Codec.CODEC_LZ4, Codec.CODEC_ZSTD);
      assertThat(roundTrip(c, ids)).isEqualTo(ids);
    }
    // sparse keeps NaN payloads and -0.0 bit for bit; only +0.0 counts as a zero
    assertThat(roundTrip(SparseCodec.EXACT, nan).data()).isEqualTo(nan.data());
    TensorCodec.Encoded s = SparseCodec.EXACT.encode(nan);
    assertThat(ByteBuffer.wrap(s.payload()).order(ByteOrder.LITTLE_ENDIAN).getInt(1)).isEqualTo(4);
    TensorCodec.Encoded lz = TensorCodec.parse("int4+lz4").encode(TensorData.ofFloats("x", new long[] {4}, new float[] {1, 2, 3, 4}));
    assertThat(lz.codec()).isEqualTo(Codec.CODEC_INT4);
    assertThat(lz.entropy()).isEqualTo(Entropy.ENTROPY_LZ4);
  }

  @Test
  void perChannelCodecsEncodeABatchAsItsSamplesOneByOne() {
    Random r = new Random(12);
    TensorData batch = random(r, new long[] {3, 4, 10, 10}, 0.4, 2, true);
    for (String label : List.of("int8c", "int4", "sparse-int8", "sparse-fp16", "int8s", "int4s")) {
      TensorCodec c = TensorCodec.parse(label);
      float[] whole = roundTrip(c, batch).floats();
      float[] x = batch.floats();
      for (int b = 0; b < 3; b++) {
        float[] one = Arrays.copyOfRange(x, b * 400, (b + 1) * 400);
        float[] back = roundTrip(c, TensorData.ofFloats("t", new long[] {1, 4, 10, 10}, one)).floats();
        assertThat(Arrays.copyOfRange(whole, b * 400, (b + 1) * 400)).as(label).isEqualTo(back);
      }
    }
  }

  @Test
  void sizesFollowTheDocumentedFormats() {
    Random r = new Random(13);
    long[] shape = {1, 32, 14, 14};
    int n = 32 * 14 * 14;
    TensorData relu = random(r, shape, 0.4, 1, false);
    assertThat(Int8ChannelCodec.INSTANCE.encode(relu).payload()).hasSize(32 * 8 + n);
    assertThat(Int4BlockCodec.INSTANCE.encode(relu).payload()).hasSize(32 * 4 * 8 + n / 2);
    int nnz = (int) Arrays.stream(boxed(relu.floats())).filter(v -> v != 0).count();
    assertThat(SparseCodec.EXACT.encode(relu).payload()).hasSize(5 + n / 8 + 4 * nnz);
    assertThat(SparseCodec.FP16.encode(relu).payload()).hasSize(5 + n / 8 + 2 * nnz);
    assertThat(SparseCodec.INT8.encode(relu).payload()).hasSize(5 + n / 8 + 32 * 8 + nnz);
    // very sparse: position gaps beat the bitmap
    TensorData rare = random(r, shape, 0.01, 1, false);
    int rareNnz = (int) Arrays.stream(boxed(rare.floats())).filter(v -> v != 0).count();
    byte[] p = SparseCodec.EXACT.encode(rare).payload();
    assertThat(p[0]).isEqualTo((byte) 1);
    assertThat(p.length).isLessThan(5 + n / 8 + 4 * rareNnz).isGreaterThanOrEqualTo(5 + 5 * rareNnz);
    assertThat(TensorCodec.parse("int4+zstd").encode(relu).payload().length)
        .isLessThan(Int4BlockCodec.INSTANCE.encode(relu).payload().length);
  }

  private static Float[] boxed(float[] v) {
    Float[] out = new Float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i];
    }
    return out;
  }

  @Test
  void namesParseAndErrorsSayWhatExists() {
    for (TensorCodec c : TensorCodec.all()) {
      assertThat(TensorCodec.parse(c.label())).isEqualTo(c);
      assertThat(TensorCodec.of(c.id(), c.entropy())).isEqualTo(c);
    }
    assertThat(TensorCodec.all()).hasSize(13 + 10 * 2);
    assertThat(TensorCodec.parse("raw+lz4")).isSameAs(Lz4Codec.INSTANCE);
    assertThat(TensorCodec.parse(" Int8C+ZSTD ").label()).isEqualTo("int8c+zstd");
    assertThatThrownBy(() -> TensorCodec.parse("int3")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown codec 'int3'").hasMessageContaining("int8c").hasMessageContaining("+zstd");
    assertThatThrownBy(() -> TensorCodec.parse("int4+gzip")).hasMessageContaining("'gzip'");
    assertThatThrownBy(() -> TensorCodec.parse("lz4+zstd")).hasMessageContaining("already lossless");
    assertThatThrownBy(() -> TensorCodec.parse("int4+zstd+lz4")).hasMessageContaining("'zstd+lz4'");
    assertThatThrownBy(() -> TensorCodec.of(Codec.CODEC_LZ4, Entropy.ENTROPY_ZSTD)).isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> TensorCodec.of(Codec.CODEC_RAW, Entropy.ENTROPY_LZ4)).isInstanceOf(CodecException.class);
  }

  /** A ReLU-like tensor whose every payload region (ranges, positions, values) is exercised. */
  private static TensorData damaged() {
    return random(new Random(14), new long[] {2, 3, 7, 9}, 0.45, 2, false);
  }

  @Test
  void truncatedOrExtendedPayloadsAreRefused() {
    TensorData t = damaged();
    for (TensorCodec c : TensorCodec.all()) {
      TensorCodec.Encoded e = c.encode(t);
      TensorCodec d = TensorCodec.of(e.codec(), e.entropy());
      for (int len = 0; len < e.payload().length; len++) {
        byte[] cut = Arrays.copyOf(e.payload(), len);
        assertThatThrownBy(() -> d.decode("t", DType.FLOAT, t.shape(), cut)).as(c.label() + " cut at " + len)
            .isInstanceOf(CodecException.class).hasMessageContaining("'t'");
      }
      byte[] longer = Arrays.copyOf(e.payload(), e.payload().length + 1);
      assertThatThrownBy(() -> d.decode("t", DType.FLOAT, t.shape(), longer)).as(c.label() + " extended")
          .isInstanceOf(CodecException.class);
      assertThatThrownBy(() -> d.decode("t", DType.FLOAT, new long[] {2, 3, 7, 8}, e.payload()))
          .as(c.label() + " other shape").isInstanceOf(CodecException.class);
    }
  }

  /**
   * Any flipped byte gives a CodecException or a tensor of the declared shape, with finite values
   * for the quantising codecs (fp16 carries infinities and NaN by design). A flipped code in a
   * quantised payload is still a valid code: the frame's CRC32C catches that (FramesTest).
   * Structural damage (counts, formats, ranges, tail bits) is refused.
   */
  @Test
  void flippedBytesNeverDecodeToGarbage() {
    TensorData t = damaged();
    Random r = new Random(15);
    List<String> refused = new ArrayList<>();
    for (TensorCodec c : TensorCodec.all()) {
      TensorCodec.Encoded e = c.encode(t);
      TensorCodec d = TensorCodec.of(e.codec(), e.entropy());
      for (int k = 0; k < 200; k++) {
        byte[] p = e.payload().clone();
        int at = r.nextInt(p.length);
        p[at] ^= (byte) (1 + r.nextInt(255));
        try {
          TensorData back = d.decode("t", DType.FLOAT, t.shape(), p);
          assertThat(back.shape()).isEqualTo(t.shape());
          if (!c.lossless() && !(TensorCodec.of(e.codec()) instanceof Fp16Codec) && e.codec() != Codec.CODEC_SPARSE_FP16) {
            for (float v : back.floats()) {
              assertThat(Float.isFinite(v)).as(c.label() + " flip at " + at).isTrue();
            }
          }
        } catch (CodecException expected) {
          refused.add(c.label());
        }
      }
    }
    assertThat(refused).contains("sparse", "sparse+lz4", "int4+zstd", "int8c+lz4", "int8s", "int4s+zstd");
  }

  @Test
  void structuralDamageIsNamed() {
    TensorData t = damaged();
    long[] shape = t.shape();
    byte[] sparse = SparseCodec.EXACT.encode(t).payload();
    byte[] fewer = sparse.clone();
    fewer[1]--;
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, shape, fewer))
        .hasMessageContaining("bitmap marks");
    byte[] format = sparse.clone();
    format[0] = 7;
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, shape, format))
        .hasMessageContaining("position format 7");
    byte[] tooMany = sparse.clone();
    ByteBuffer.wrap(tooMany).order(ByteOrder.LITTLE_ENDIAN).putInt(1, 1 << 30);
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, shape, tooMany))
        .hasMessageContaining("declares 1073741824 non-zeros");
    // 378 elements: the bitmap's last byte uses 2 bits; a third one points past the tensor
    byte[] tail = sparse.clone();
    tail[5 + 47] |= 0x04;
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, shape, tail))
        .hasMessageContaining("past the last");
    TensorData rare = TensorData.ofFloats("t", new long[] {1000}, sparseValues(1000, 5, 999));
    byte[] gaps = SparseCodec.EXACT.encode(rare).payload();
    assertThat(gaps[0]).isEqualTo((byte) 1);
    byte[] far = gaps.clone();
    far[6] = (byte) 0x90; // the second gap 993 (0xe1 0x07) becomes 0x90 0x07: position 5 + 913 + 1, still in range
    far[5] = (byte) 0x7f; // the first gap 5 becomes 127: 127 + 1 + 913 = 1041 is past the end
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, new long[] {1000}, far))
        .hasMessageContaining("past the last of 1000");
    byte[] overlong = Arrays.copyOf(gaps, 5 + 5);
    Arrays.fill(overlong, 5, 10, (byte) 0xff);
    assertThatThrownBy(() -> SparseCodec.EXACT.decode("t", DType.FLOAT, new long[] {1000}, overlong))
        .hasMessageContaining("over-long");
    byte[] int8c = Int8ChannelCodec.INSTANCE.encode(t).payload();
    ByteBuffer.wrap(int8c).order(ByteOrder.LITTLE_ENDIAN).putFloat(4, Float.NaN);
    assertThatThrownBy(() -> Int8ChannelCodec.INSTANCE.decode("t", DType.FLOAT, shape, int8c))
        .hasMessageContaining("invalid int8c range");
    byte[] int4 = Int4BlockCodec.INSTANCE.encode(TensorData.ofFloats("t", new long[] {3}, new float[] {1, 2, 3})).payload();
    int4[int4.length - 1] |= (byte) 0x50;
    assertThatThrownBy(() -> Int4BlockCodec.INSTANCE.decode("t", DType.FLOAT, new long[] {3}, int4))
        .hasMessageContaining("past the last element");
    byte[] wide = Int4BlockCodec.INSTANCE.encode(TensorData.ofFloats("t", new long[] {3}, new float[] {1, 2, 3})).payload();
    ByteBuffer.wrap(wide).order(ByteOrder.LITTLE_ENDIAN).putFloat(4, 3e38f);
    assertThatThrownBy(() -> Int4BlockCodec.INSTANCE.decode("t", DType.FLOAT, new long[] {3}, wide))
        .hasMessageContaining("invalid int4 range");
    byte[] zs = TensorCodec.parse("sparse+zstd").encode(t).payload();
    assertThatThrownBy(() -> TensorCodec.parse("sparse+zstd").decode("t", DType.FLOAT, new long[] {1, 3}, zs))
        .hasMessageContaining("at most");
    byte[] lz = TensorCodec.parse("int8c+lz4").encode(t).payload();
    ByteBuffer.wrap(lz).order(ByteOrder.LITTLE_ENDIAN).putInt(0, Integer.MAX_VALUE);
    assertThatThrownBy(() -> TensorCodec.parse("int8c+lz4").decode("t", DType.FLOAT, shape, lz))
        .hasMessageContaining("declares 2147483647 bytes");
    byte[] int8s = SymmetricChannelCodec.INT8.encode(t).payload();
    ByteBuffer.wrap(int8s).order(ByteOrder.LITTLE_ENDIAN).putFloat(4, -1f);
    assertThatThrownBy(() -> SymmetricChannelCodec.INT8.decode("t", DType.FLOAT, shape, int8s))
        .hasMessageContaining("invalid int8s scale -1.0 of slice 1");
    byte[] minus128 = SymmetricChannelCodec.INT8.encode(t).payload();
    minus128[6 * 4 + 2] = (byte) -128;
    assertThatThrownBy(() -> SymmetricChannelCodec.INT8.decode("t", DType.FLOAT, shape, minus128))
        .hasMessageContaining("code -128 at element 2 is outside [-127, 127]");
    TensorData three = TensorData.ofFloats("t", new long[] {3}, new float[] {1, -2, 3});
    byte[] int4s = SymmetricChannelCodec.INT4.encode(three).payload();
    assertThat(int4s).hasSize(4 + 2);
    int4s[5] |= (byte) 0x30;
    assertThatThrownBy(() -> SymmetricChannelCodec.INT4.decode("t", DType.FLOAT, new long[] {3}, int4s))
        .hasMessageContaining("past the last element");
  }

  /**
   * The symmetric codecs and fp16s give exactly the values the separable network's training
   * simulates on its links (scale max|x|/L in float32, ties to even, codes clamped to [-L, L];
   * halves saturating at 65504), written out here as the definition.
   */
  @Test
  void symmetricCodecsAndSaturatingFp16GiveTheDefinedValues() {
    Random r = new Random(16);
    TensorData t = random(r, new long[] {2, 5, 7, 7}, 0.7, 3, true);
    float[] x = t.floats();
    for (SymmetricChannelCodec c : List.of(SymmetricChannelCodec.INT8, SymmetricChannelCodec.INT4)) {
      float levels = c.levels();
      float[] expected = x.clone();
      for (int plane = 0; plane < 10; plane++) {
        float max = 0;
        for (int i = plane * 49; i < (plane + 1) * 49; i++) {
          max = Math.max(max, Math.abs(x[i]));
        }
        float scale = Math.max(max / levels, 1e-12f);
        for (int i = plane * 49; i < (plane + 1) * 49; i++) {
          float q = (float) Math.rint(x[i] / scale);
          expected[i] = Math.max(-levels, Math.min(levels, q)) * scale;
        }
      }
      // numerically equal: a code 0 decodes to +0 where the definition's rounding keeps a -0
      float[] back = roundTrip(c, t).floats();
      for (int i = 0; i < x.length; i++) {
        assertThat(back[i] == expected[i]).as(c.label() + " element " + i + ": " + back[i] + " vs " + expected[i]).isTrue();
      }
      assertThat(c.encode(t).payload()).hasSize(10 * 4 + (2 * 5 * 49 * (c == SymmetricChannelCodec.INT8 ? 8 : 4) + 7) / 8);
    }
    float[] big = {70000f, -1e9f, 65519f, 1.00048828125f, 3e-8f};
    float[] halves = roundTrip(Fp16Codec.SATURATING, TensorData.ofFloats("t", new long[] {5}, big)).floats();
    assertThat(halves).containsExactly(65504f, -65504f, 65504f, 1f, 0x1p-24f);
  }

  private static float[] sparseValues(int n, int... at) {
    float[] v = new float[n];
    for (int i : at) {
      v[i] = i + 0.5f;
    }
    return v;
  }
}
