package dev.shoal.train.fluid;

import dev.shoal.model.family.FluidManifest.Transfer;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes per image that cross devices (float32, no codec), exactly, from the layout: what each
 * combined mode of a Fluid network sends, and what a network split by width sends.
 */
public final class CrossDeviceBytes {

  private CrossDeviceBytes() {}

  /** Name of group j's trunk output (its layer 2 after pooling) in the combined-mode stages. */
  public static String trunk(int group) {
    return "trunk" + group;
  }

  /** Name of group j's pooled combined-mode features in the combined-mode stages. */
  public static String features(int group) {
    return "features" + group;
  }

  /**
   * Fluid's combined mode on devices 1..m: each device j < m sends its trunk output to every later
   * device (the cross links run only from earlier to later groups, at the lowest resolution) and its
   * pooled features to device m, which runs the combined head.
   */
  public static List<Transfer> fluidCombined(FluidLayout layout, int m) {
    List<Transfer> transfers = new ArrayList<>();
    List<Long> trunkShape = List.of((long) layout.groupChannels(2), (long) layout.lowRows(), (long) layout.lowCols());
    for (int j = 1; j < m; j++) {
      for (int k = j + 1; k <= m; k++) {
        transfers.add(new Transfer(trunk(j), j, k, trunkShape, layout.trunkBytes()));
      }
      transfers.add(new Transfer(features(j), j, m, List.of((long) layout.groupChannels(3)), layout.featureBytes()));
    }
    return transfers;
  }

  public static long total(List<Transfer> transfers) {
    return transfers.stream().mapToLong(Transfer::bytes).sum();
  }

  /**
   * A dense network at width k/G of the layout split by width over k devices, each holding 1/G of
   * every layer's channels: every conv reads all channels of the layer before, so after layers 1 and
   * 2 (pooled) each device sends its slice to the k - 1 others; after layer 3 each sends its pooled
   * features to the device with the classifier. Static is k = G; Dynamic's width k/G is k.
   */
  public static long widthSplit(FluidLayout layout, int k) {
    long h1 = (long) (layout.rows() / 2) * (layout.cols() / 2);
    long h2 = (long) layout.lowRows() * layout.lowCols();
    long allGather1 = (long) k * (k - 1) * layout.groupChannels(1) * h1 * 4;
    long allGather2 = (long) k * (k - 1) * layout.groupChannels(2) * h2 * 4;
    long toHead = (long) (k - 1) * layout.groupChannels(3) * 4;
    return allGather1 + allGather2 + toHead;
  }
}
