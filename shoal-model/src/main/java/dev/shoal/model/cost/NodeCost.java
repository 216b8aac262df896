package dev.shoal.model.cost;

/**
 * The cost of one node for one sample.
 *
 * @param position index in the graph's topological order
 * @param macs multiply-accumulates ({@link CostModel})
 * @param paramBytes bytes of the initializers it reads (a weight shared by several nodes counts at
 *     each of them; {@link ModelProfile#totalParamBytes()} counts it once)
 * @param outBytes bytes of its outputs
 * @param workBytes its activation working set: the bytes of its non-initializer inputs and outputs
 * @param cutBytes bytes crossing a cut placed right after it (see {@code ModelGraph})
 */
public record NodeCost(
    int position, String name, String op, long macs, long paramBytes, long outBytes, long workBytes,
    long cutBytes) {}
