package dev.shoal.runtime.codec;

/**
 * Affine quantisation of a range {@code [lo, hi]} to the codes {@code 0..levels}: {@code x ≈ lo +
 * q·step} with {@code step = (hi − lo) / levels}, so the error is at most {@code step / 2} (plus
 * float rounding of the last bit). Zero-heavy ReLU output gets {@code lo = 0}, so its zeros stay
 * exact and the whole code range serves the positive values.
 */
final class Affine {
  /** Bytes of one range on the wire: {@code lo} and {@code step} as little-endian float32. */
  static final int BYTES = 8;

  private Affine() {}

  /** The step for {@code [lo, hi]}, or NaN when the range is too wide for float32. */
  /** The lowest value and the step of {@code in}'s floats [start, end); null if any is not finite or the step is. */
  static float[] range(java.nio.ByteBuffer in, int start, int end, int levels) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (int i = start; i < end; i++) {
      float v = in.getFloat(i * 4);
      if (!Float.isFinite(v)) {
        return null;
      }
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    float step = step(lo, hi, levels);
    return Float.isNaN(step) ? null : new float[] {lo, step};
  }

  static float step(float lo, float hi, int levels) {
    float step = (hi - lo) / levels;
    return Float.isFinite(step) && Float.isFinite(lo + levels * step) ? step : Float.NaN;
  }

  /** The multiplier {@link #quantise} takes: 1 / step, or 0 for a constant range. */
  static float inverse(float step) {
    return step == 0f ? 0f : 1f / step;
  }

  /** The code of {@code x ≥ lo}: round half up of {@code (x − lo) / step}, by multiplying (faster than dividing). */
  static int quantise(float x, float lo, float inverse, int levels) {
    int q = (int) ((x - lo) * inverse + 0.5f);
    return Math.min(levels, Math.max(0, q));
  }

  /** Refuses a range read from a payload that could decode to a non-finite value or that no encoder writes. */
  static void check(float lo, float step, int levels, String name, String codec) {
    if (!Float.isFinite(lo) || !Float.isFinite(step) || step < 0f || !Float.isFinite(lo + levels * step)) {
      throw new CodecException("tensor '" + name + "': invalid " + codec + " range (lo " + lo + ", step "
          + step + ")");
    }
  }
}
