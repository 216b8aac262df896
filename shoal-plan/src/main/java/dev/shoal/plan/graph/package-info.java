/**
 * The plan graph: what the runtime executes for every strategy. A {@link dev.shoal.plan.graph.Plan}
 * is stages (ONNX sub-models placed on devices, required or optional, with batching settings),
 * edges (a producer's tensor to a consumer's input, through a codec), exchanges (edges between
 * peers in the middle of a width-split network), merges (several members' answers combined into
 * the response) and the cost model's predicted figures; it has a JSON form ({@link
 * dev.shoal.plan.graph.PlanJson}) and, with its stage files, a directory form ({@link
 * dev.shoal.plan.graph.PlanBundle}). Producers for each strategy live in {@code
 * dev.shoal.plan.strategy}.
 */
package dev.shoal.plan.graph;
