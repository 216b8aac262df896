/**
 * Cluster specs (YAML): devices, speeds, memories, links, and how a model profile and a cluster
 * make a planner instance.
 */
package dev.shoal.plan.cluster;
