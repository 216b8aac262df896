package dev.shoal.plan;

/** A device of a planner instance: its name and memory capacity in bytes. */
public record DeviceSpec(String name, long memoryBytes) {}
