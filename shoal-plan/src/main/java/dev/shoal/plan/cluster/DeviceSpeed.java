package dev.shoal.plan.cluster;

import java.nio.file.Path;

/** How fast a device runs layers: a factor of the reference device, or its own measured times. */
public sealed interface DeviceSpeed {

  /** {@code factor} times the reference device ({@link Cluster#macsPerSecond} at 1.0). */
  record Relative(double factor) implements DeviceSpeed {}

  /** Per-layer seconds measured on the device: the JSON of {@code shoal profile --measure --format json}. */
  record Measured(Path file) implements DeviceSpeed {}
}
