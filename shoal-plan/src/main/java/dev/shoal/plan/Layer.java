package dev.shoal.plan;

/**
 * One layer of a planner instance (DESIGN.md, "The pipeline cost model"): {@code time[d]} seconds
 * on device d, parameter bytes, activation working set, and the bytes crossing a cut placed right
 * after it.
 */
public record Layer(String name, double[] time, long paramBytes, long workBytes, long cutBytes) {}
