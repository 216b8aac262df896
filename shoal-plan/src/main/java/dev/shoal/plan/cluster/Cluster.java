package dev.shoal.plan.cluster;

import java.util.List;

/**
 * A cluster as its YAML spec describes it: devices, link bandwidth (bytes/s, 0 = no link) and
 * latency (s) between every ordered pair, the source device where inputs arrive (null when
 * inputs start on the first stage's device), and the reference speed: a device of speed 1.0
 * runs {@code macsPerSecond} multiply-accumulates per second.
 */
public record Cluster(
    List<ClusterDevice> devices,
    double[][] bandwidth,
    double[][] latency,
    Integer source,
    double macsPerSecond) {

  /** The calibration when a spec names none: 1 GMAC/s, about one Cortex-A72 core on float32 convolutions. */
  public static final double DEFAULT_MACS_PER_SECOND = 1e9;

  public int indexOf(String name) {
    for (int d = 0; d < devices.size(); d++) {
      if (devices.get(d).name().equals(name)) {
        return d;
      }
    }
    return -1;
  }
}
