package dev.shoal.plan.cluster;

/** One device of a cluster spec; {@code address} (host:port of its worker) may be null. */
public record ClusterDevice(String name, String address, long memoryBytes, DeviceSpeed speed) {}
