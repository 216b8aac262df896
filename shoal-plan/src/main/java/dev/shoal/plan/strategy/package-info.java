/**
 * Every strategy as a producer of plan graphs ({@link dev.shoal.plan.graph.PlanProducer}):
 * pipelines cut by a solver's plan (with or without replicated stages), fixed splits and written
 * plans re-placed on the survivors, and ensembles (variant and class parallel) whose members are
 * placed by the cost model ({@link dev.shoal.plan.strategy.MemberPlacement}).
 */
package dev.shoal.plan.strategy;
