/**
 * Well-known network shapes with seeded random weights, for tests and planner profiles.
 */
package dev.shoal.model.zoo;
