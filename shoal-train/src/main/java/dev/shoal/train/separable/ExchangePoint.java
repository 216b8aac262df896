package dev.shoal.train.separable;

import java.util.Arrays;

/**
 * What happens after one block: either nothing, or every device {@code g} sends the first
 * {@code fraction} of its channels, encoded with {@code codec}, to device {@code sendTo[g]}, which
 * averages the chunk into its own first channels. {@code sendTo} is a derangement (a permutation
 * without fixed points), so every device sends one chunk and receives one.
 */
public record ExchangePoint(boolean exchange, int[] sendTo, double fraction, LinkCodec codec) {

  /** The channel fractions a policy may send: 1/8, 2/8, ... 8/8. */
  public static final int FRACTION_STEPS = 8;

  public static final ExchangePoint NONE = new ExchangePoint(false, new int[0], 0, LinkCodec.FP32);

  public ExchangePoint {
    sendTo = sendTo.clone();
    if (exchange) {
      if (!isDerangement(sendTo)) {
        throw new IllegalArgumentException(
            "sendTo " + Arrays.toString(sendTo) + " must send each device's chunk to another device, each device "
                + "receiving exactly one (a permutation of 0.." + (sendTo.length - 1) + " without fixed points)");
      }
      double steps = fraction * FRACTION_STEPS;
      if (!(Math.abs(steps - Math.rint(steps)) < 1e-9 && steps >= 1 && steps <= FRACTION_STEPS)) {
        throw new IllegalArgumentException("fraction must be one of 1/8, 2/8, ... 1, got " + fraction);
      }
    }
  }

  public static ExchangePoint of(int[] sendTo, int eighths, LinkCodec codec) {
    return new ExchangePoint(true, sendTo, eighths / (double) FRACTION_STEPS, codec);
  }

  /** The fraction in eighths (1..8); 0 when nothing is exchanged. */
  public int eighths() {
    return exchange ? (int) Math.rint(fraction * FRACTION_STEPS) : 0;
  }

  /** Channels sent out of {@code groupChannels}: the fraction of them, rounded, at least one. */
  public int channels(int groupChannels) {
    return exchange ? Math.max(1, (int) Math.round(fraction * groupChannels)) : 0;
  }

  /** The device each device receives from: the inverse of {@code sendTo}. */
  public int[] receiveFrom() {
    int[] from = new int[sendTo.length];
    for (int g = 0; g < sendTo.length; g++) {
      from[sendTo[g]] = g;
    }
    return from;
  }

  @Override
  public int[] sendTo() {
    return sendTo.clone();
  }

  public ExchangePoint withCodec(LinkCodec newCodec) {
    return exchange ? new ExchangePoint(true, sendTo, fraction, newCodec) : this;
  }

  static boolean isDerangement(int[] p) {
    if (p.length < 2) {
      return false;
    }
    boolean[] seen = new boolean[p.length];
    for (int g = 0; g < p.length; g++) {
      if (p[g] < 0 || p[g] >= p.length || p[g] == g || seen[p[g]]) {
        return false;
      }
      seen[p[g]] = true;
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExchangePoint e
        && exchange == e.exchange
        && Arrays.equals(sendTo, e.sendTo)
        && eighths() == e.eighths()
        && (!exchange || codec == e.codec);
  }

  @Override
  public int hashCode() {
    return exchange ? Arrays.hashCode(sendTo) * 31 * 31 + eighths() * 31 + codec.hashCode() : 0;
  }

  @Override
  public String toString() {
    return exchange ? Arrays.toString(sendTo) + "@" + eighths() + "/8:" + codec.id() : "-";
  }
}
