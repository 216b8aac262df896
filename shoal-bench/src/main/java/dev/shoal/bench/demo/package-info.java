/**
 * {@code shoal demo}: the whole system on one machine (worker processes emulating slower devices,
 * the planner, the coordinator and the KServe v2 gateway), its load generator and its report.
 */
package dev.shoal.bench.demo;
