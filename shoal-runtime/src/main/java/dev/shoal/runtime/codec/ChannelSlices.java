package dev.shoal.runtime.codec;

/**
 * How the per-channel codecs cut a tensor into slices that each get their own quantisation range.
 * A slice is one channel of one sample: for rank 3 and above ({@code [N, C, ...]}) the
 * {@code N·C} contiguous runs of {@code prod(shape[2..])} values; for rank 2 ({@code [N, F]}) one
 * row per sample (a per-column scale would need the whole batch, and a batch of one would get a
 * scale per value); for rank 0 and 1 the whole tensor. Slices never span two samples, so a
 * batch encodes to the same values as its samples sent one by one.
 */
record ChannelSlices(int count, int length) {

  static ChannelSlices of(long[] shape, int elements) {
    if (elements == 0) {
      return new ChannelSlices(0, 0);
    }
    int count = shape.length >= 3 ? (int) (shape[0] * shape[1]) : shape.length == 2 ? (int) shape[0] : 1;
    return new ChannelSlices(count, elements / count);
  }
}
