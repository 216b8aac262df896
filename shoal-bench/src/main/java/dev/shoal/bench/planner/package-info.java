/**
 * {@code shoal bench planner}: our pipeline solvers in the planner paper's setting next to its
 * published figures, cross-checked by an independent OR-Tools CP-SAT model, and their solve times.
 */
package dev.shoal.bench.planner;
