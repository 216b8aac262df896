package dev.shoal.train.separable;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Locale;

/**
 * How an exchanged chunk is encoded on its link. Training simulates the loss of precision by
 * fake-quantising the chunk in the forward pass (straight-through gradient), so the accuracy a
 * policy scores already reflects its codecs. The integer codecs are symmetric with one fp32 scale
 * per sample and channel ({@code max|x| / (2^(bits-1) - 1)}), rounded half to even.
 */
public enum LinkCodec {
  FP32(32),
  FP16(16),
  INT8(8),
  INT4(4);

  /** Bytes of one per-channel scale of the integer codecs. */
  public static final int SCALE_BYTES = 4;

  private static final float HALF_MAX = 65504f;

  private final int bits;

  LinkCodec(int bits) {
    this.bits = bits;
  }

  public int bits() {
    return bits;
  }

  /** The policy-file name: fp32, fp16, int8, int4. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static LinkCodec parse(String id) {
    for (LinkCodec c : values()) {
      if (c.id().equals(id)) {
        return c;
      }
    }
    throw new IllegalArgumentException(
        "unknown codec '" + id + "', expected one of " + Arrays.stream(values()).map(LinkCodec::id).toList());
  }

  private boolean integer() {
    return this == INT8 || this == INT4;
  }

  private float levels() {
    return (1 << (bits - 1)) - 1;
  }

  /** Bytes on the wire for one sample's chunk of {@code channels x pixels} values. */
  public long bytes(int channels, int pixels) {
    long payload = ((long) channels * pixels * bits + 7) / 8;
    return payload + (integer() ? (long) channels * SCALE_BYTES : 0);
  }

  /**
   * The chunk {@code [N, C, H, W]} as the receiver decodes it; gradients pass straight through the
   * rounding.
   */
  public NDArray fakeQuantise(NDArray x) {
    if (this == FP32) {
      return x;
    }
    NDArray decoded;
    if (this == FP16) {
      // Clamped to the largest half first: an overflow to infinity would poison the whole batch.
      decoded = x.stopGradient().clip(-HALF_MAX, HALF_MAX).toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false);
    } else {
      // PyTorch reduces max over one axis at a time: flatten the pixels first.
      Shape s = x.getShape();
      NDArray scale =
          x.stopGradient().abs().reshape(s.get(0), s.get(1), -1).max(new int[] {2}, true)
              .reshape(s.get(0), s.get(1), 1, 1).div(levels()).maximum(1e-12f);
      decoded = x.stopGradient().div(scale).round().clip(-levels(), levels()).mul(scale);
    }
    return x.add(decoded.sub(x).stopGradient());
  }

  /**
   * The same decoding on plain floats: {@code values} holds {@code samples x channels x pixels}
   * (NCHW), changed in place. What the ONNX-chained evaluation applies between segments.
   */
  public void fakeQuantise(float[] values, int samples, int channels, int pixels) {
    if (this == FP32) {
      return;
    }
    if (this == FP16) {
      for (int i = 0; i < values.length; i++) {
        values[i] = roundToHalf(values[i]);
      }
      return;
    }
    float levels = levels();
    for (int plane = 0; plane < samples * channels; plane++) {
      int base = plane * pixels;
      float max = 0;
      for (int i = 0; i < pixels; i++) {
        max = Math.max(max, Math.abs(values[base + i]));
      }
      float scale = Math.max(max / levels, 1e-12f);
      for (int i = 0; i < pixels; i++) {
        float q = (float) Math.rint(values[base + i] / scale);
        values[base + i] = Math.max(-levels, Math.min(levels, q)) * scale;
      }
    }
  }

  /**
   * {@code f} rounded to the nearest IEEE half-precision value (ties to even), as a float; beyond
   * the largest half it saturates, as the training's clamp does.
   */
  static float roundToHalf(float f) {
    float a = Math.abs(f);
    if (!Float.isFinite(f)) {
      return f;
    }
    if (a >= HALF_MAX) {
      return Math.copySign(HALF_MAX, f);
    }
    // Halves below 2^-14 are subnormal: one fixed quantum of 2^-24.
    int exponent = a < 0x1p-14f ? -14 : Math.getExponent(a);
    double quantum = Math.scalb(1.0, exponent - 10);
    return (float) (Math.rint(f / quantum) * quantum);
  }
}
