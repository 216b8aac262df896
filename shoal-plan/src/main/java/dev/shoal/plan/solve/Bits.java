package dev.shoal.plan.solve;

/** Fixed-size bit sets over layer positions as {@code long[]} words: the search's hot data. */
final class Bits {

  private Bits() {}

  static long[] create(int size) {
    return new long[(size + 63) >>> 6];
  }

  static boolean get(long[] bits, int i) {
    return (bits[i >>> 6] & (1L << i)) != 0;
  }

  static void set(long[] bits, int i) {
    bits[i >>> 6] |= 1L << i;
  }

  /** Sets bits {@code from..to} inclusive; nothing when {@code to < from}. */
  static void setRange(long[] bits, int from, int to) {
    if (to < from) {
      return;
    }
    int firstWord = from >>> 6;
    int lastWord = to >>> 6;
    long firstMask = -1L << from;
    long lastMask = -1L >>> (63 - (to & 63));
    if (firstWord == lastWord) {
      bits[firstWord] |= firstMask & lastMask;
      return;
    }
    bits[firstWord] |= firstMask;
    for (int w = firstWord + 1; w < lastWord; w++) {
      bits[w] = -1L;
    }
    bits[lastWord] |= lastMask;
  }

  static boolean isEmpty(long[] bits) {
    for (long word : bits) {
      if (word != 0) {
        return false;
      }
    }
    return true;
  }

  /** The next set bit at or after {@code from}, or -1. */
  static int next(long[] bits, int from) {
    int w = from >>> 6;
    if (w >= bits.length) {
      return -1;
    }
    long word = bits[w] & (-1L << from);
    while (true) {
      if (word != 0) {
        return (w << 6) + Long.numberOfTrailingZeros(word);
      }
      if (++w == bits.length) {
        return -1;
      }
      word = bits[w];
    }
  }

  /** The highest set bit, or -1. */
  static int last(long[] bits) {
    for (int w = bits.length - 1; w >= 0; w--) {
      if (bits[w] != 0) {
        return (w << 6) + 63 - Long.numberOfLeadingZeros(bits[w]);
      }
    }
    return -1;
  }

  /** {@code bits &= ~mask} and whether anything is left. */
  static boolean removeAll(long[] bits, long[] mask) {
    long any = 0;
    for (int w = 0; w < bits.length; w++) {
      bits[w] &= ~mask[w];
      any |= bits[w];
    }
    return any != 0;
  }

  static void addAll(long[] bits, long[] other) {
    for (int w = 0; w < bits.length; w++) {
      bits[w] |= other[w];
    }
  }
}
