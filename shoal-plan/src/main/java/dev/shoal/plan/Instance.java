package dev.shoal.plan;

import java.util.List;

/**
 * A planner instance exactly as DESIGN.md pins it: layers in a fixed topological order, the
 * devices, link bandwidth (bytes/s) and latency (s) matrices, and the optional source device where
 * inputs arrive ({@code null} when the input is already on the first stage's device).
 */
public record Instance(
    List<Layer> layers,
    long inputBytes,
    List<DeviceSpec> devices,
    double[][] bandwidth,
    double[][] latency,
    Integer source) {}
