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
  static float step(float lo, float hi, int levels) {
    float step = (hi - lo) / levels;
    return Float.isFinite(step) && Float.isFinite(lo + levels * step) ? step : Float.NaN;
  }

  static int quantise(float x, float lo, float step, int levels) {
    if (step == 0f) {
      return 0;
    }
    int q = Math.round((x - lo) / step);
    return Math.max(0, Math.min(levels, q));
  }

  /** Refuses a range read from a payload that could decode to a non-finite value or that no encoder writes. */
  static void check(float lo, float step, int levels, String name, String codec) {
    if (!Float.isFinite(lo) || !Float.isFinite(step) || step < 0f || !Float.isFinite(lo + levels * step)) {
      throw new CodecException("tensor '" + name + "': invalid " + codec + " range (lo " + lo + ", step "
          + step + ")");
    }
  }
}
