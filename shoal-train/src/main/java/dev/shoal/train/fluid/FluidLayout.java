package dev.shoal.train.fluid;

/**
 * The shape shared by the Fluid network and its baselines: three 3x3 conv-BN-ReLU layers of
 * {@code conv1}, {@code conv2}, {@code conv3} channels, 2x2 max pooling after the first two, global
 * average pooling and a linear classifier. Fluid splits every layer's channels into {@code groups}
 * equal sub-networks; Static is the dense network at these widths; Dynamic nests its widths in them.
 */
public record FluidLayout(int rows, int cols, int classes, int conv1, int conv2, int conv3, int groups) {

  /** The widths every committed model uses: divisible by 2 and by 3, so G = 2 and G = 3 share them. */
  public static final int[] DEFAULT_CHANNELS = {24, 48, 96};

  public FluidLayout {
    if (groups < 1) {
      throw new IllegalArgumentException("groups must be >= 1, got " + groups);
    }
    for (int c : new int[] {conv1, conv2, conv3}) {
      if (c < groups || c % groups != 0) {
        throw new IllegalArgumentException(
            "every layer's channels must split evenly into " + groups + " groups, got " + conv1 + "/" + conv2 + "/" + conv3);
      }
    }
    if (rows % 4 != 0 || cols % 4 != 0) {
      throw new IllegalArgumentException("images must be a multiple of 4 on each side (two 2x2 poolings), got " + rows + "x" + cols);
    }
  }

  /** The default widths for {@code groups} groups on {@code rows x cols} images. */
  public static FluidLayout standard(int rows, int cols, int classes, int groups) {
    return new FluidLayout(
        rows, cols, classes, DEFAULT_CHANNELS[0], DEFAULT_CHANNELS[1], DEFAULT_CHANNELS[2], groups);
  }

  /** This layout with {@code newGroups} groups (the same widths). */
  public FluidLayout withGroups(int newGroups) {
    return new FluidLayout(rows, cols, classes, conv1, conv2, conv3, newGroups);
  }

  /** Channels of layer {@code layer} (1..3) in one group. */
  public int groupChannels(int layer) {
    return channels(layer) / groups;
  }

  /** Channels of layer {@code layer} (1..3) in the whole network. */
  public int channels(int layer) {
    return switch (layer) {
      case 1 -> conv1;
      case 2 -> conv2;
      case 3 -> conv3;
      default -> throw new IllegalArgumentException("layers are 1..3, got " + layer);
    };
  }

  /** Side lengths after the two poolings: where layer 3 runs and the cross-group links cross. */
  public int lowRows() {
    return rows / 4;
  }

  public int lowCols() {
    return cols / 4;
  }

  /** Float32 bytes of one group's trunk output (layer 2 after pooling) for one image. */
  public long trunkBytes() {
    return 4L * groupChannels(2) * lowRows() * lowCols();
  }

  /** Float32 bytes of one group's pooled features for one image. */
  public long featureBytes() {
    return 4L * groupChannels(3);
  }
}
