/**
 * The pinned pipeline cost model and its planner instances (layers, devices, links; JSON form),
 * the solver interface, plans and their reports.
 */
package dev.shoal.plan;
