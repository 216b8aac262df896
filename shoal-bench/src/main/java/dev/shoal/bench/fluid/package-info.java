/**
 * {@code shoal bench fluid}: Fluid dynamic DNNs against the Static and Dynamic baselines, as
 * sections that each print a table and write CSV and JSON — today the accuracy and size table; the
 * serving sections (throughput, failure, auto mode) join it as further {@link
 * dev.shoal.bench.fluid.FluidBenchSection}s.
 */
package dev.shoal.bench.fluid;
