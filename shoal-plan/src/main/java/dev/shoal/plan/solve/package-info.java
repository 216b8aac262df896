/**
 * The partition and placement solvers: exact (proven optimum), heuristic (bounded search), and the
 * paper's greedy and random baselines.
 */
package dev.shoal.plan.solve;
