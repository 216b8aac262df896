package dev.shoal.train.separable;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a separable network: a stem every device runs on the whole image, then bottleneck
 * blocks whose channels are split into {@code groups} equal slices, one per device, then a global
 * pool and a classifier whose weights are split the same way (each device computes partial logits
 * from its own pooled features; their sum is the output). Exchange point {@code i} sits after
 * block {@code i} (1-based), between every pair of consecutive blocks.
 *
 * @param groups devices the width is split over; 1 for the non-separable reference
 * @param stemChannels channels of the stem's output (every device holds all of them)
 * @param blocks the bottleneck blocks in order
 * @param cardinality groups of every 3x3 convolution (ResNeXt's cardinality); a multiple of
 *     {@code groups}, so that no 3x3 group straddles two devices
 */
public record SeparableArchitecture(
    int groups, int rows, int cols, int stemChannels, int stemStride, List<Block> blocks, int cardinality,
    int classes) {

  /** One bottleneck: 1x1 to {@code bottleneck}, grouped 3x3 (stride), 1x1 to {@code out}, residual. */
  public record Block(int in, int out, int bottleneck, int stride) {}

  /** Feature map a block produces, per device: channels of one group, spatial size. */
  public record GroupShape(int channels, int height, int width) {
    public int pixels() {
      return height * width;
    }
  }

  public static final List<Integer> SUPPORTED_GROUPS = List.of(2, 3, 4);
  /** Cardinality of the Fashion-MNIST network's 3x3 convolutions. */
  private static final int CARDINALITY = 12;

  public SeparableArchitecture {
    blocks = List.copyOf(blocks);
    if (groups < 1) {
      throw new IllegalArgumentException("groups must be >= 1, got " + groups);
    }
    if (blocks.size() < 2) {
      throw new IllegalArgumentException("a separable network needs at least 2 blocks, got " + blocks.size());
    }
    if (cardinality % groups != 0) {
      throw new IllegalArgumentException("cardinality " + cardinality + " is not a multiple of " + groups + " groups");
    }
    int in = stemChannels;
    for (int i = 0; i < blocks.size(); i++) {
      Block b = blocks.get(i);
      if (b.in() != in) {
        throw new IllegalArgumentException("block " + (i + 1) + " takes " + b.in() + " channels, its input has " + in);
      }
      if (b.out() % groups != 0 || b.bottleneck() % cardinality != 0) {
        throw new IllegalArgumentException(
            "block " + (i + 1) + ": " + b.out() + " output channels must split into " + groups
                + " groups and bottleneck " + b.bottleneck() + " into cardinality " + cardinality);
      }
      in = b.out();
    }
  }

  /**
   * The Fashion-MNIST network: stem 3x3/2 to 24 channels at 14x14, two blocks of width 48 at 14x14,
   * four of width 96 at 7x7 (bottleneck half the width), cardinality 12. Widths divide by 2, 3 and
   * 4, so the same network splits over any of them.
   */
  public static SeparableArchitecture fashion(int groups, int rows, int cols, int classes) {
    return fashion(groups, rows, cols, classes, 1.0);
  }

  /**
   * The Fashion-MNIST network with every channel count multiplied by {@code width}: the stem's
   * rounded to a multiple of 4, the blocks' widths and bottlenecks to multiples of the cardinality
   * (12, which 2, 3 and 4 divide, so the network still splits over any of them). Width 1 is the
   * network of {@link #fashion(int, int, int, int)}; the rounding makes the steps coarse (1.25
   * gives 32 / 60 / 120 channels, bottlenecks 36 / 60).
   */
  public static SeparableArchitecture fashion(int groups, int rows, int cols, int classes, double width) {
    if (!(width > 0 && width <= 4)) {
      throw new IllegalArgumentException("the width multiplier must be in (0, 4], got " + width);
    }
    int stem = roundTo(24 * width, 4);
    int narrow = roundTo(48 * width, CARDINALITY);
    int wide = roundTo(96 * width, CARDINALITY);
    int narrowBottleneck = roundTo(narrow / 2.0, CARDINALITY);
    int wideBottleneck = roundTo(wide / 2.0, CARDINALITY);
    List<Block> blocks =
        List.of(
            new Block(stem, narrow, narrowBottleneck, 1),
            new Block(narrow, narrow, narrowBottleneck, 1),
            new Block(narrow, wide, wideBottleneck, 2),
            new Block(wide, wide, wideBottleneck, 1),
            new Block(wide, wide, wideBottleneck, 1),
            new Block(wide, wide, wideBottleneck, 1));
    return new SeparableArchitecture(groups, rows, cols, stem, 2, blocks, CARDINALITY, classes);
  }

  /** The nearest positive multiple of {@code unit}. */
  private static int roundTo(double channels, int unit) {
    return Math.max(unit, (int) Math.round(channels / unit) * unit);
  }

  /** The same network with every layer dense (one group): the accuracy reference. */
  public SeparableArchitecture nonSeparable() {
    return new SeparableArchitecture(1, rows, cols, stemChannels, stemStride, blocks, cardinality, classes);
  }

  /** Number of exchange points: one between each pair of consecutive blocks. */
  public int exchangePoints() {
    return blocks.size() - 1;
  }

  /** Per-device shape of block {@code i}'s output (0-based). */
  public GroupShape blockOutput(int i) {
    int h = ceilDiv(rows, stemStride);
    int w = ceilDiv(cols, stemStride);
    for (int b = 0; b <= i; b++) {
      h = ceilDiv(h, blocks.get(b).stride());
      w = ceilDiv(w, blocks.get(b).stride());
    }
    return new GroupShape(blocks.get(i).out() / groups, h, w);
  }

  /** Per-device shape at each exchange point (after blocks 1 .. n-1). */
  public List<GroupShape> exchangeShapes() {
    List<GroupShape> shapes = new ArrayList<>();
    for (int i = 0; i < exchangePoints(); i++) {
      shapes.add(blockOutput(i));
    }
    return shapes;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
